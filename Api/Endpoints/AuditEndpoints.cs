using Microsoft.AspNetCore.Http.HttpResults;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Audit;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary><c>/api/v1/audit</c>: the append-only, hash-chained audit log, for admins and auditors.</summary>
internal static class AuditEndpoints
{
    public static void MapAuditEndpoints(this IEndpointRouteBuilder routes)
    {
        var audit = routes.MapGroup("/api/v1/audit").WithTags("Audit").RequireAuthorization(Policies.Reader);
        audit.MapGet("/", ListAsync)
            .WithName("ListAudit")
            .WithSummary("Audit records, newest first, filtered by action, actor id and time (ISO 8601 `since`/`until`).")
            .WithDescription("Actions include `auth.login`, `auth.refresh`, `auth.logout`, `sxp.auth`, `user.create`, `user.update`, `user.password`, `user.delete`, `key.create`, `key.revoke`, `file.upload`, `file.download`, `file.mkdir`, `file.move`, `file.delete`. Admins and auditors.");
        audit.MapPost("/verify", VerifyAsync)
            .WithName("VerifyAudit")
            .WithSummary("Recompute the hash chain: `ok` false names the first record that was changed, removed or reordered.");
    }

    private static async Task<Ok<PageResponse<AuditEntryResponse>>> ListAsync(
        AuditLog log, CancellationToken cancellationToken,
        int page = 1, int pageSize = 100, string? action = null, long? actorId = null, DateTimeOffset? since = null, DateTimeOffset? until = null)
    {
        var result = await log.ListAsync(page, pageSize, action, actorId, since, until, cancellationToken);
        return TypedResults.Ok(new PageResponse<AuditEntryResponse>(result.Items.Select(ToResponse).ToList(), result.Total, result.PageNumber, result.PageSize));
    }

    private static async Task<Ok<AuditVerifyResponse>> VerifyAsync(AuditLog log, HttpContext http, CancellationToken cancellationToken)
    {
        var result = await log.VerifyAsync(cancellationToken);
        http.Audit("audit.verify", outcome: result.Ok ? "ok" : "failed", detail: result.Ok ? null : $"broken at {result.BrokenAt}");
        return TypedResults.Ok(new AuditVerifyResponse(result.Ok, result.Records, result.BrokenAt, result.Reason));
    }

    private static AuditEntryResponse ToResponse(AuditRecord record) => new(
        record.Seq, DateTimeOffset.FromUnixTimeMilliseconds(record.At), record.ActorId, record.Actor, record.Action, record.Target, record.Source, record.Outcome, record.Detail, record.Hash);
}
