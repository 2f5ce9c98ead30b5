using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Audit;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Remotes;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Server.Jobs;

/// <summary>
/// Scheduled jobs: CRUD with ownership (a job's remote must be its owner's), the run history,
/// and running one: the owner's space and the remote become the two sides of the sync engine,
/// with the same safety rules as the CLI's sync (deletes only after a clean run, refused from
/// an empty source or past the limit). A run holds a lease on its job in the database, so no
/// second run of the same job starts, on this instance or another.
/// </summary>
public sealed partial class JobService(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    RemoteService remotes,
    FileService files,
    UploadService uploads,
    AuditLog audit,
    TimeProvider time,
    Hosting.ServerInstance instance,
    Storage.RunningMarkers markers,
    ILogger<JobService> logger)
{
    public const int MaxPerUser = 100;
    public const int HistoryKept = 200;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    /// <summary>Names this process in the leases it takes.</summary>
    public string Instance => instance.Id;

    public async Task<IReadOnlyList<JobResponse>> ListAsync(AuthenticatedUser caller, bool everyone, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var query = db.Jobs.AsNoTracking();
        if (!(everyone && caller.Role == Roles.Admin))
        {
            query = query.Where(j => j.OwnerId == caller.Id);
        }

        var found = await query.ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. found.OrderBy(j => j.OwnerId).ThenBy(j => j.Name, StringComparer.Ordinal).Select(ToResponse)];
    }

    public async Task<JobResponse> GetAsync(AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return ToResponse(await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false));
    }

    public async Task<JobResponse> CreateAsync(AuthenticatedUser caller, JobRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var record = new JobRecord
        {
            Id = "job_" + Guid.NewGuid().ToString("N")[..16],
            OwnerId = caller.Id,
            Name = Required(request.Name, "name"),
            RemoteId = Required(request.RemoteId, "remoteId"),
            RemotePath = request.RemotePath ?? string.Empty,
            LocalPath = Required(request.LocalPath, "localPath"),
            Direction = Required(request.Direction, "direction"),
            Cron = Required(request.Cron, "cron"),
            MaxDelete = SyncOptions.DefaultMaxDelete,
            CreatedAt = now.ToUnixTimeMilliseconds(),
            UpdatedAt = now.ToUnixTimeMilliseconds(),
        };
        Apply(record, request with { Name = null, RemoteId = null, RemotePath = null, LocalPath = null, Direction = null, Cron = null });

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await ValidateAsync(db, record, cancellationToken).ConfigureAwait(false);
        if (await db.Jobs.CountAsync(j => j.OwnerId == caller.Id, cancellationToken).ConfigureAwait(false) >= MaxPerUser)
        {
            throw new AccountException(AccountError.Conflict, $"A user may keep at most {MaxPerUser} jobs.");
        }

        if (await db.Jobs.AnyAsync(j => j.OwnerId == caller.Id && j.Name == record.Name, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(AccountError.Conflict, $"You already have a job named '{record.Name}'.");
        }

        record.NextRunAt = NextRun(record, now);
        db.Jobs.Add(record);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return ToResponse(record);
    }

    public async Task<JobResponse> UpdateAsync(AuthenticatedUser caller, string id, JobRequest request, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        if (request.Name is { } name && name != record.Name
            && await db.Jobs.AnyAsync(j => j.OwnerId == record.OwnerId && j.Name == name, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(AccountError.Conflict, $"There is already a job named '{name}'.");
        }

        var wasEnabled = record.Enabled;
        var oldCron = record.Cron;
        Apply(record, request);
        await ValidateAsync(db, record, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (record.Cron != oldCron || (record.Enabled && !wasEnabled))
        {
            record.NextRunAt = NextRun(record, now);
        }

        record.UpdatedAt = now.ToUnixTimeMilliseconds();
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return ToResponse(record);
    }

    public async Task DeleteAsync(AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        db.Jobs.Remove(record);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes the job due now; the scheduler starts it within a moment. A job already running is a conflict.</summary>
    public async Task<JobResponse> RequestRunAsync(AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();

        // Only a job nobody holds is touched: a run that took it meanwhile keeps its lease.
        var marked = await db.Jobs.Where(j => j.Id == record.Id && (j.LeaseUntil == null || j.LeaseUntil < now))
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.NextRunAt, now).SetProperty(j => j.LeaseUntil, (long?)null).SetProperty(j => j.LeaseOwner, "manual"), cancellationToken).ConfigureAwait(false);
        if (marked == 0)
        {
            throw new AccountException(AccountError.Conflict, "The job is running now; try again when it has finished.");
        }

        record.NextRunAt = now;
        record.LeaseOwner = "manual";
        record.LeaseUntil = null;
        return ToResponse(record);
    }

    public async Task<IReadOnlyList<JobRunResponse>> RunsAsync(AuthenticatedUser caller, string id, int limit, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        var runs = await db.JobRuns.AsNoTracking().Where(r => r.JobId == record.Id).OrderByDescending(r => r.Id)
            .Take(Math.Clamp(limit, 1, HistoryKept)).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. runs.Select(ToResponse)];
    }

    /// <summary>
    /// At start-up: leases held by a process of this machine that no longer runs (a crash, a
    /// SIGKILL) are freed at once rather than after they expire, and runs left "running" by
    /// a dead holder are marked interrupted; the next due run picks up the work.
    /// </summary>
    public async Task CloseAbandonedRunsAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var held = await db.Jobs.Where(j => j.LeaseUntil != null).Select(j => new { j.Id, j.LeaseOwner, j.LeaseUntil }).ToListAsync(cancellationToken).ConfigureAwait(false);
        var dead = held.Where(j => j.LeaseUntil < now || HolderIsGone(j.LeaseOwner)).ToList();
        foreach (var job in dead)
        {
            // Only if the lease is still the one judged dead: another instance may have taken the job meanwhile.
            await db.Jobs.Where(j => j.Id == job.Id && j.LeaseOwner == job.LeaseOwner && j.LeaseUntil == job.LeaseUntil)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.LeaseUntil, (long?)null).SetProperty(j => j.LeaseOwner, (string?)null), cancellationToken).ConfigureAwait(false);
        }

        // Judged in the statement itself: a run another instance starts meanwhile holds a lease and is left alone.
        await db.JobRuns.Where(r => r.Status == "running" && r.StartedAt < now && !db.Jobs.Any(j => j.Id == r.JobId && j.LeaseUntil != null && j.LeaseUntil >= now))
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, "interrupted").SetProperty(r => r.EndedAt, now), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A lease owner (an instance id) whose server is not running: its marker in the shared data
    /// directory is gone or no longer locked. Process ids are not consulted: containers on one
    /// host can share a name and a pid.
    /// </summary>
    private bool HolderIsGone(string? owner) => owner is not null && owner != "manual" && !markers.IsRunning(owner);

    /// <summary>Jobs due now whose lease is free; each is taken (leased) before it is returned.</summary>
    public async Task<IReadOnlyList<(JobRecord Job, string Trigger)>> TakeDueAsync(int max, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var due = await db.Jobs.AsNoTracking()
            .Where(j => j.Enabled && j.NextRunAt != null && j.NextRunAt <= nowMs && (j.LeaseUntil == null || j.LeaseUntil < nowMs))
            .OrderBy(j => j.NextRunAt).Take(max).ToListAsync(cancellationToken).ConfigureAwait(false);
        var taken = new List<(JobRecord, string)>();
        foreach (var job in due)
        {
            var until = (now + Lease).ToUnixTimeMilliseconds();

            // The conditional update is the lock: of several instances, one changes the row.
            var won = await db.Jobs.Where(j => j.Id == job.Id && (j.LeaseUntil == null || j.LeaseUntil < nowMs) && j.NextRunAt == job.NextRunAt)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.LeaseUntil, until).SetProperty(j => j.LeaseOwner, Instance), cancellationToken).ConfigureAwait(false);
            if (won == 1)
            {
                var trigger = job.LeaseOwner == "manual" ? "manual" : nowMs - job.NextRunAt > 60_000 ? "missed" : "schedule";
                taken.Add((job, trigger));
            }
        }

        return taken;
    }

    /// <summary>Runs a leased job once, records the run, sets the next due time and frees the lease.</summary>
    public async Task RunAsync(JobRecord job, string trigger, CancellationToken cancellationToken)
    {
        var run = new JobRunRecord { JobId = job.Id, Trigger = trigger, StartedAt = time.GetUtcNow().ToUnixTimeMilliseconds(), Status = "running" };
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            db.JobRuns.Add(run);
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }

        // Every line the run logs carries the job and run ids; the run id is its transfer id.
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["JobId"] = job.Id,
            ["TransferId"] = "job-run:" + run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["UserId"] = job.OwnerId,
        });

        // The run stops if its lease is lost (it would no longer be the only one).
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var renew = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewing = RenewLeaseAsync(job.Id, lost, renew.Token);
        var errors = new List<string>();
        var warnings = new List<string>();
        SyncResult? result = null;
        string? owner = null;
        try
        {
            (result, owner) = await ExecuteAsync(job, warnings, lost.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            errors.Add("The server stopped during the run; the next run continues the work.");
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            errors.Add("The job's lease was lost during the run; it stopped so that no two runs overlap.");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            errors.Add(ex.Message);
            LogRunFailed(logger, ex, job.Id);
        }
        finally
        {
            await renew.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
        }

        var status = cancellationToken.IsCancellationRequested ? "interrupted" : result is { Succeeded: true } && errors.Count == 0 ? "ok" : "failed";
        run.EndedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        run.Status = status;
        run.Copied = result?.Copied ?? 0;
        run.Updated = result?.Updated ?? 0;
        run.Deleted = result?.Deleted ?? 0;
        run.Unchanged = result?.Unchanged ?? 0;
        run.Bytes = result?.Bytes ?? 0;
        run.Errors = JsonSerializer.Serialize(errors.Concat(result?.Errors.Select(e => e.Message) ?? []).Concat(warnings).Take(100).ToList(), JobJson.Default.ListString);

        await using (var db = await dbFactory.CreateDbContextAsync(CancellationToken.None).ConfigureAwait(false))
        {
            // Updated in place: a job deleted during its run took the row with it, and that is fine.
            await db.JobRuns.Where(r => r.Id == run.Id).ExecuteUpdateAsync(u => u
                .SetProperty(r => r.EndedAt, run.EndedAt).SetProperty(r => r.Status, run.Status)
                .SetProperty(r => r.Copied, run.Copied).SetProperty(r => r.Updated, run.Updated).SetProperty(r => r.Deleted, run.Deleted)
                .SetProperty(r => r.Unchanged, run.Unchanged).SetProperty(r => r.Bytes, run.Bytes).SetProperty(r => r.Errors, run.Errors), CancellationToken.None).ConfigureAwait(false);
            var next = NextRun(job, time.GetUtcNow());
            await db.Jobs.Where(j => j.Id == job.Id && j.LeaseOwner == Instance)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.LeaseUntil, (long?)null).SetProperty(j => j.LeaseOwner, (string?)null).SetProperty(j => j.NextRunAt, next), CancellationToken.None).ConfigureAwait(false);

            // History is bounded: the oldest runs go.
            var keepFrom = await db.JobRuns.Where(r => r.JobId == job.Id).OrderByDescending(r => r.Id).Skip(HistoryKept).Select(r => (long?)r.Id).FirstOrDefaultAsync(CancellationToken.None).ConfigureAwait(false);
            if (keepFrom is { } oldest)
            {
                await db.JobRuns.Where(r => r.JobId == job.Id && r.Id <= oldest).ExecuteDeleteAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        audit.Record(new AuditEvent("job.run", status == "ok" ? "ok" : "failed", job.OwnerId, owner, job.Id, null,
            $"{trigger}: {run.Copied} copied, {run.Updated} updated, {run.Deleted} deleted, {run.Bytes} bytes, {JsonSerializer.Deserialize(run.Errors, JobJson.Default.ListString)!.Count} errors"));
    }

    private async Task<(SyncResult Result, string Owner)> ExecuteAsync(JobRecord job, List<string> warnings, CancellationToken cancellationToken)
    {
        UserAccount account;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            account = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == job.OwnerId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The job's owner no longer exists.");
        }

        if (account.Disabled)
        {
            throw new InvalidOperationException($"The job's owner {account.Username} is disabled.");
        }

        var user = new AuthenticatedUser(account.Id, account.Username, account.Role, account.QuotaBytes);
        await using var remote = await remotes.OpenAsync(null, job.OwnerId, job.RemoteId, cancellationToken).ConfigureAwait(false);
        await using var space = new UserSpaceEndpoint(user, files, uploads, "localhost");
        var local = new SyncSide(space, job.LocalPath.TrimStart('/'));
        var far = new SyncSide(remote, job.RemotePath);
        var (source, destination) = job.Direction == "push" ? (local, far) : (far, local);
        var options = new SyncOptions
        {
            Delete = job.DeleteExtra,
            MaxDelete = job.MaxDelete,
            Filter = SyncFilter.Create(Patterns(job.Excludes), Patterns(job.Includes)),
        };
        if (job.Direction == "pull" && await space.StatAsync(local.Root, cancellationToken).ConfigureAwait(false) is null)
        {
            await space.MkdirAsync(local.Root, cancellationToken).ConfigureAwait(false);
        }

        var result = await new SyncEngine(source, destination, options, new Collector(warnings)).RunAsync(cancellationToken).ConfigureAwait(false);
        return (result, account.Username);
    }

    /// <summary>Extends the lease while the run lasts; a database error is retried, a lease found taken stops the run.</summary>
    private async Task RenewLeaseAsync(string id, CancellationTokenSource lost, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Lease / 10, cancellationToken).ConfigureAwait(false);
                try
                {
                    await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
                    var until = (time.GetUtcNow() + Lease).ToUnixTimeMilliseconds();
                    var kept = await db.Jobs.Where(j => j.Id == id && j.LeaseOwner == Instance)
                        .ExecuteUpdateAsync(u => u.SetProperty(j => j.LeaseUntil, until), cancellationToken).ConfigureAwait(false);
                    if (kept == 0)
                    {
                        await lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    LogRenewFailed(logger, ex, id);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not extend the lease of job {JobId}; trying again")]
    private static partial void LogRenewFailed(ILogger logger, Exception error, string jobId);

    /// <summary>The next due time after <paramref name="after"/>; null when disabled or the schedule has none.</summary>
    private static long? NextRun(JobRecord job, DateTimeOffset after) =>
        job.Enabled ? SyncSchedule.Cron(job.Cron, TimeZoneInfo.Utc).Next(after)?.ToUnixTimeMilliseconds() : null;

    private static IReadOnlyList<string> Patterns(string json) => JsonSerializer.Deserialize(json, JobJson.Default.ListString) ?? [];

    private static void Apply(JobRecord record, JobRequest request)
    {
        record.Name = request.Name?.Trim() ?? record.Name;
        record.RemoteId = request.RemoteId ?? record.RemoteId;
        record.RemotePath = request.RemotePath?.Trim() ?? record.RemotePath;
        record.LocalPath = request.LocalPath?.Trim() ?? record.LocalPath;
        record.Direction = request.Direction?.Trim().ToLowerInvariant() ?? record.Direction;
        record.Cron = request.Cron?.Trim() ?? record.Cron;
        record.DeleteExtra = request.Delete ?? record.DeleteExtra;
        record.MaxDelete = request.MaxDelete ?? record.MaxDelete;
        record.Enabled = request.Enabled ?? record.Enabled;
        if (request.Excludes is { } excludes)
        {
            record.Excludes = JsonSerializer.Serialize(excludes.ToList(), JobJson.Default.ListString);
        }

        if (request.Includes is { } includes)
        {
            record.Includes = JsonSerializer.Serialize(includes.ToList(), JobJson.Default.ListString);
        }
    }

    private static async Task ValidateAsync(SecureXferDbContext db, JobRecord record, CancellationToken cancellationToken)
    {
        if (record.Name.Length is 0 or > 100 || record.Name.Any(char.IsControl))
        {
            throw new AccountException(AccountError.Invalid, "name is 1 to 100 characters, without control characters.", "name");
        }

        if (record.Direction is not ("push" or "pull"))
        {
            throw new AccountException(AccountError.Invalid, "direction is push (your space to the remote) or pull.", "direction");
        }

        try
        {
            SyncSchedule.Cron(record.Cron, TimeZoneInfo.Utc);
        }
        catch (FormatException ex)
        {
            throw new AccountException(AccountError.Invalid, ex.Message, "cron");
        }

        if (!RemotePath.TryParse(record.LocalPath, out var local, out var error))
        {
            throw new AccountException(AccountError.Invalid, "localPath: " + error, "localPath");
        }

        record.LocalPath = local.Value;
        if (record.RemotePath.Length > 4096 || record.RemotePath.Any(char.IsControl) || record.RemotePath.Split('/', '\\').Contains(".."))
        {
            throw new AccountException(AccountError.Invalid, "remotePath may not contain control characters or '..'.", "remotePath");
        }

        if (record.MaxDelete < 0)
        {
            throw new AccountException(AccountError.Invalid, "maxDelete is 0 or more.", "maxDelete");
        }

        try
        {
            SyncFilter.Create(Patterns(record.Excludes), Patterns(record.Includes));
        }
        catch (ArgumentException ex)
        {
            throw new AccountException(AccountError.Invalid, ex.Message, "excludes");
        }

        // The remote must be the job owner's own: nobody syncs through someone else's credentials.
        if (!await db.Remotes.AnyAsync(r => r.Id == record.RemoteId && r.OwnerId == record.OwnerId, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(AccountError.Invalid, "remoteId names none of the job owner's remotes.", "remoteId");
        }
    }

    private static async Task<JobRecord> FindAsync(SecureXferDbContext db, AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        var record = await db.Jobs.SingleOrDefaultAsync(j => j.Id == id, cancellationToken).ConfigureAwait(false);
        return record is not null && (record.OwnerId == caller.Id || caller.Role == Roles.Admin)
            ? record
            : throw new AccountException(AccountError.NotFound, "No such job.");
    }

    private static string Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new AccountException(AccountError.Invalid, $"{field} is required.", field) : value.Trim();

    private JobResponse ToResponse(JobRecord j) => new(
        j.Id, j.OwnerId, j.Name, j.RemoteId, j.RemotePath, j.LocalPath, j.Direction, j.Cron, j.DeleteExtra, j.MaxDelete,
        Patterns(j.Excludes), Patterns(j.Includes), j.Enabled,
        j.NextRunAt is { } next ? DateTimeOffset.FromUnixTimeMilliseconds(next) : null,
        j.LeaseUntil > time.GetUtcNow().ToUnixTimeMilliseconds() && j.LeaseOwner != "manual",
        DateTimeOffset.FromUnixTimeMilliseconds(j.CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(j.UpdatedAt));

    private static JobRunResponse ToResponse(JobRunRecord r) => new(
        r.Id, r.Trigger, DateTimeOffset.FromUnixTimeMilliseconds(r.StartedAt), r.EndedAt is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
        r.Status, r.Copied, r.Updated, r.Deleted, r.Unchanged, r.Bytes, JsonSerializer.Deserialize(r.Errors, JobJson.Default.ListString) ?? []);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed")]
    private static partial void LogRunFailed(ILogger logger, Exception error, string jobId);

    /// <summary>Gathers a run's warnings for its history (its errors are in the result).</summary>
    private sealed class Collector(List<string> errors) : ISyncObserver
    {
        public void Planned(IReadOnlyList<SyncAction> plan)
        {
        }

        public IProgress<long>? Starting(SyncAction action) => null;

        public void Done(SyncAction action, EndpointTransfer? transfer)
        {
        }

        public void Failed(SyncError error)
        {
        }

        public void Warn(string message)
        {
            lock (errors)
            {
                if (errors.Count < 100)
                {
                    errors.Add("warning: " + message);
                }
            }
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
internal sealed partial class JobJson : System.Text.Json.Serialization.JsonSerializerContext;
