using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Cli.Commands;

/// <summary>
/// <c>sxfer jobs list|add|run|rm|runs</c>: syncs the server runs on a schedule between a
/// directory of your space and one on a saved remote (<c>sxfer remotes</c>).
/// </summary>
internal static class JobCommands
{
    public static Command Create(GlobalOptions globals)
    {
        var jobs = new Command("jobs", "Manage server-side scheduled sync jobs.");
        jobs.Subcommands.Add(List(globals));
        jobs.Subcommands.Add(Add(globals));
        jobs.Subcommands.Add(Run(globals));
        jobs.Subcommands.Add(Runs(globals));
        jobs.Subcommands.Add(Remove(globals));
        return jobs;
    }

    private static Command List(GlobalOptions globals)
    {
        var all = new Option<bool>("--all") { Description = "Everyone's (admins)." };
        var command = new Command("list", "List your jobs.") { all };
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var path = "api/v1/jobs" + (context.ParseResult.GetValue(all) ? "?all=true" : string.Empty);
            var result = await api.SendAsync(HttpMethod.Get, path, null, JobJsonContext.Default.JobListResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(result!, JobJsonContext.Default.JobListResponse, () =>
            {
                Console.Out.WriteLine($"{"ID",-22}  {"NAME",-20} {"WHAT",-40} {"CRON",-16} NEXT");
                foreach (var j in result!.Items)
                {
                    var what = j.Direction == "push" ? $"{j.LocalPath} -> {j.RemoteId}:{j.RemotePath}" : $"{j.RemoteId}:{j.RemotePath} -> {j.LocalPath}";
                    var next = !j.Enabled ? "paused" : j.Running ? "running" : j.NextRunAt is { } n ? n.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "-";
                    Console.Out.WriteLine($"{j.Id,-22}  {j.Name,-20} {what,-40} {j.Cron,-16} {next}");
                }
            });
        });
        return command;
    }

    private static Command Add(GlobalOptions globals)
    {
        var name = new Argument<string>("NAME") { Description = "A name for the job." };
        var remote = new Option<string>("--remote") { Description = "The remote's id (sxfer remotes list).", HelpName = "ID", Required = true };
        var remotePath = new Option<string>("--remote-path") { Description = "The directory on the remote (relative to its login directory; a leading / is absolute).", HelpName = "PATH", DefaultValueFactory = _ => string.Empty };
        var path = new Option<string>("--path") { Description = "The directory in your SecureXfer space.", HelpName = "PATH", Required = true };
        var direction = new Option<string>("--direction") { Description = "push (your space to the remote) or pull.", HelpName = "push|pull", Required = true };
        var cron = new Option<string>("--cron") { Description = "When to run, e.g. \"*/5 * * * *\" (UTC).", HelpName = "EXPR", Required = true };
        var delete = new Option<bool>("--delete") { Description = "Delete files at the destination that the source lacks (with sync's safety rules)." };
        var maxDelete = new Option<int>("--max-delete") { Description = "Refuse to delete anything when a run would delete more than N files.", HelpName = "N", DefaultValueFactory = _ => SyncOptions.DefaultMaxDelete };
        var exclude = new Option<string[]>("--exclude") { Description = "Skip paths matching GLOB (repeatable).", HelpName = "GLOB" };
        var include = new Option<string[]>("--include") { Description = "Sync only files matching GLOB (repeatable).", HelpName = "GLOB" };
        var paused = new Option<bool>("--paused") { Description = "Create it paused." };
        var command = new Command("add", "Schedule a sync between your space and a remote.") { name, remote, remotePath, path, direction, cron, delete, maxDelete, exclude, include, paused };
        command.SetBody(globals, async context =>
        {
            var parse = context.ParseResult;
            var request = new JobRequest(parse.GetRequiredValue(name), parse.GetRequiredValue(remote), parse.GetValue(remotePath), parse.GetRequiredValue(path),
                parse.GetRequiredValue(direction), parse.GetRequiredValue(cron), parse.GetValue(delete), parse.GetValue(maxDelete),
                parse.GetValue(exclude) ?? [], parse.GetValue(include) ?? [], !parse.GetValue(paused));
            using var api = context.OpenSession().OpenApi();
            var created = await api.SendAsync(HttpMethod.Post, "api/v1/jobs", JsonContent.Create(request, JobJsonContext.Default.JobRequest), JobJsonContext.Default.JobResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(created!, JobJsonContext.Default.JobResponse, () => Console.Out.WriteLine(
                $"Scheduled job {created!.Id} ({created.Name}); next run {(created.NextRunAt is { } n ? n.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture) : "none")}."));
        });
        return command;
    }

    private static Command Run(GlobalOptions globals)
    {
        var id = new Argument<string>("ID") { Description = "The job's id." };
        var command = new Command("run", "Run a job now.") { id };
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var job = await api.SendAsync(HttpMethod.Post, $"api/v1/jobs/{Uri.EscapeDataString(context.ParseResult.GetRequiredValue(id))}/run", null, JobJsonContext.Default.JobResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(job!, JobJsonContext.Default.JobResponse, () => Console.Out.WriteLine($"Job {job!.Id} starts within a second; see 'sxfer jobs runs {job.Id}'."));
        });
        return command;
    }

    private static Command Runs(GlobalOptions globals)
    {
        var id = new Argument<string>("ID") { Description = "The job's id." };
        var limit = new Option<int>("--limit") { Description = "How many of the newest runs.", HelpName = "N", DefaultValueFactory = _ => 20 };
        var command = new Command("runs", "Show a job's recent runs.") { id, limit };
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var path = $"api/v1/jobs/{Uri.EscapeDataString(context.ParseResult.GetRequiredValue(id))}/runs?limit={context.ParseResult.GetValue(limit).ToString(CultureInfo.InvariantCulture)}";
            var result = await api.SendAsync(HttpMethod.Get, path, null, JobJsonContext.Default.JobRunListResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(result!, JobJsonContext.Default.JobRunListResponse, () =>
            {
                Console.Out.WriteLine($"{"STARTED",-21} {"TRIGGER",-9} {"STATUS",-12} {"COPIED",6} {"UPDATED",7} {"DELETED",7} {"BYTES",12}  ERRORS");
                foreach (var r in result!.Items)
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{r.StartedAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z  {r.Trigger,-9} {r.Status,-12} {r.Copied,6} {r.Updated,7} {r.Deleted,7} {r.Bytes,12}  {string.Join(" | ", r.Errors)}"));
                }
            });
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals)
    {
        var id = new Argument<string>("ID") { Description = "The job's id." };
        var command = new Command("rm", "Delete a job and its history.") { id };
        command.SetBody(globals, async context =>
        {
            var jobId = context.ParseResult.GetRequiredValue(id);
            using var api = context.OpenSession().OpenApi();
            await api.SendAsync<JobResponse>(HttpMethod.Delete, $"api/v1/jobs/{Uri.EscapeDataString(jobId)}", null, null, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new KeyOkJson(true, jobId), KeyJson.Default.KeyOkJson, () => Console.Out.WriteLine($"Deleted {jobId}"));
        });
        return command;
    }
}
