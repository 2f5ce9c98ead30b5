using System.CommandLine;
using System.Globalization;
using System.Text;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Cli.Commands;

/// <summary><c>sxfer audit</c>: read the audit log (admins and auditors), or check its hash chain with <c>--verify</c>.</summary>
internal static class AuditCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var action = new Option<string?>("--action") { Description = "Only records of this action, e.g. auth.login or file.upload." };
        var actorId = new Option<long?>("--actor-id") { Description = "Only records of this user id." };
        var since = new Option<DateTimeOffset?>("--since") { Description = "Only records at or after this time (ISO 8601)." };
        var limit = new Option<int>("--limit") { Description = "Most records to show, newest first (at most 500).", DefaultValueFactory = _ => 50 };
        var verify = new Option<bool>("--verify") { Description = "Check the hash chain instead of listing; exit 5 if it is broken." };
        var command = new Command("audit", "Show the audit log, newest first, or verify it.") { action, actorId, since, limit, verify };
        command.SetBody(globals, async context =>
        {
            var parse = context.ParseResult;
            using var api = context.OpenSession().OpenApi();
            if (parse.GetValue(verify))
            {
                var check = await api.SendAsync(HttpMethod.Post, "api/v1/audit/verify", null, RestJsonContext.Default.AuditVerifyResponse, context.CancellationToken).ConfigureAwait(false);
                if (!check!.Ok)
                {
                    throw new CliException(ExitCodes.Integrity, "audit_broken", $"The audit chain is broken at record {check.BrokenAt}: {check.Reason}.");
                }

                context.Reporter.Result(check, RestJsonContext.Default.AuditVerifyResponse, () => Console.Out.WriteLine($"The audit chain holds: {check.Records} records."));
                return;
            }

            var query = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"api/v1/audit?pageSize={parse.GetValue(limit)}"));
            if (parse.GetValue(action) is { Length: > 0 } wanted)
            {
                query.Append("&action=").Append(Uri.EscapeDataString(wanted));
            }

            if (parse.GetValue(actorId) is { } actor)
            {
                query.Append(CultureInfo.InvariantCulture, $"&actorId={actor}");
            }

            if (parse.GetValue(since) is { } from)
            {
                query.Append("&since=").Append(Uri.EscapeDataString(from.ToString("O", CultureInfo.InvariantCulture)));
            }

            var page = await api.SendAsync(HttpMethod.Get, query.ToString(), null, RestJsonContext.Default.PageResponseAuditEntryResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(page!, RestJsonContext.Default.PageResponseAuditEntryResponse, () =>
            {
                foreach (var entry in page!.Items)
                {
                    var at = entry.At.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                    Console.Out.WriteLine($"{entry.Seq,7} {at}Z {entry.Action,-14} {entry.Outcome,-6} {entry.Actor ?? "-",-16} {entry.Source ?? "-",-22} {entry.Target}{(entry.Detail is null ? string.Empty : "  (" + entry.Detail + ")")}");
                }
            });
        });
        return command;
    }
}
