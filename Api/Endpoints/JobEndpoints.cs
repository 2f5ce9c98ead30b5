using Microsoft.AspNetCore.Http.HttpResults;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Jobs;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary>
/// <c>/api/v1/jobs</c>: scheduled syncs between a user's space and one of their remotes, with
/// run-now and the run history. Each user manages their own; admins see and manage all.
/// </summary>
internal static class JobEndpoints
{
    public static void MapJobEndpoints(this IEndpointRouteBuilder routes)
    {
        var jobs = routes.MapGroup("/api/v1/jobs").WithTags("Jobs").RequireAuthorization();

        jobs.MapGet("/", ListAsync)
            .WithName("ListJobs")
            .WithSummary("Your jobs (with `all=true`, an admin sees everyone's).");

        jobs.MapPost("/", CreateAsync)
            .WithName("CreateJob")
            .WithSummary("Schedule a sync between a directory of your space and one on your remote.")
            .WithDescription("`direction` is `push` (your space to the remote) or `pull`. `cron` is a crontab expression (`*/5 * * * *`) or Quartz's six or seven fields, in UTC. "
                + "`delete` removes files at the destination that the source lacks, with the sync rules: never after a failed listing or transfer, never from an empty source, never more than `maxDelete` (default 100). "
                + "`excludes` and `includes` are glob lists as for `sxfer sync`. The remote must be yours. Runs never overlap; a run due while the server was down runs once when it is back.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        jobs.MapGet("/{id}", GetAsync)
            .WithName("GetJob")
            .WithSummary("One job, with its next due time and whether it is running.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        jobs.MapPatch("/{id}", UpdateAsync)
            .WithName("UpdateJob")
            .WithSummary("Change a job; only the fields sent change. `enabled: false` pauses it.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        jobs.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteJob")
            .WithSummary("Delete a job and its history.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        jobs.MapPost("/{id}/run", RunAsync)
            .WithName("RunJob")
            .WithSummary("Run a job now (within a second); 409 while it is running.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        jobs.MapGet("/{id}/runs", RunsAsync)
            .WithName("ListJobRuns")
            .WithSummary("The job's runs, newest first: trigger, start, end, status (`running`, `ok`, `failed`, `interrupted`), files, bytes and errors.")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<JobListResponse>> ListAsync(HttpContext http, JobService jobs, CancellationToken cancellationToken, bool all = false) =>
        TypedResults.Ok(new JobListResponse(await jobs.ListAsync(http.ActingUser(), all, cancellationToken)));

    private static async Task<Created<JobResponse>> CreateAsync(JobRequest request, HttpContext http, JobService jobs, CancellationToken cancellationToken)
    {
        var created = await jobs.CreateAsync(http.ActingUser(), request, cancellationToken);
        http.Audit("job.create", created.Id, detail: $"{created.Direction} {created.LocalPath} {created.RemoteId}:{created.RemotePath} '{created.Cron}'");
        return TypedResults.Created($"/api/v1/jobs/{created.Id}", created);
    }

    private static async Task<Ok<JobResponse>> GetAsync(string id, HttpContext http, JobService jobs, CancellationToken cancellationToken) =>
        TypedResults.Ok(await jobs.GetAsync(http.ActingUser(), id, cancellationToken));

    private static async Task<Ok<JobResponse>> UpdateAsync(string id, JobRequest request, HttpContext http, JobService jobs, CancellationToken cancellationToken)
    {
        var updated = await jobs.UpdateAsync(http.ActingUser(), id, request, cancellationToken);
        http.Audit("job.update", id);
        return TypedResults.Ok(updated);
    }

    private static async Task<NoContent> DeleteAsync(string id, HttpContext http, JobService jobs, CancellationToken cancellationToken)
    {
        await jobs.DeleteAsync(http.ActingUser(), id, cancellationToken);
        http.Audit("job.delete", id);
        return TypedResults.NoContent();
    }

    private static async Task<Accepted<JobResponse>> RunAsync(string id, HttpContext http, JobService jobs, CancellationToken cancellationToken)
    {
        var job = await jobs.RequestRunAsync(http.ActingUser(), id, cancellationToken);
        http.Audit("job.run-now", id);
        return TypedResults.Accepted($"/api/v1/jobs/{id}/runs", job);
    }

    private static async Task<Ok<JobRunListResponse>> RunsAsync(string id, HttpContext http, JobService jobs, CancellationToken cancellationToken, int limit = 50) =>
        TypedResults.Ok(new JobRunListResponse(await jobs.RunsAsync(http.ActingUser(), id, limit, cancellationToken)));
}
