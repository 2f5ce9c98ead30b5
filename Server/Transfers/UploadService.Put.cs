using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Transfers;

/// <summary>
/// Small files sent whole (PUT). Each is checked and staged as it arrives; a single committer
/// then makes whole batches durable together: one file-system sync for all staged bytes, the
/// renames, one flush per directory, one database transaction. A PUT is answered only after its
/// batch is durable, so acknowledged means on disk, without an fsync per file on the way.
/// </summary>
public sealed partial class UploadService
{
    private const int MaxPutBatch = 512;

    private readonly Channel<StagedPut> _puts = Channel.CreateUnbounded<StagedPut>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _committerGate = new();
    private Task? _committer;

    /// <summary>
    /// Validates and stages one small file now (its bytes are only valid during this call) and
    /// returns a task that completes when the file is committed, or fails with the reason it was not.
    /// </summary>
    public Task<RemoteEntry> Put(AuthenticatedUser user, PutRequest request, ReadOnlySequence<byte> bytes)
    {
        var path = RemotePath.Parse(request.Path);
        if (path.IsRoot)
        {
            throw new SxpException(ErrorCode.InvalidPath, "PUT needs a file path, not the root.");
        }

        if (request.Size is < 0 or > SxpLimits.MaxPutSize || request.Size != bytes.Length)
        {
            throw new SxpException(ErrorCode.BadRequest, $"A PUT carries between 0 and {SxpLimits.MaxPutSize} bytes, exactly as declared.");
        }

        if (!HashText.IsSha256Hex(request.Sha256))
        {
            throw new SxpException(ErrorCode.BadRequest, "sha256 must be 64 hex digits.");
        }

        var modifiedUtc = FileTimes.Check(request.Modified);
        using (var target = roots.Resolve(user.Id, path))
        {
            CheckTarget(target.Location, path, request.Overwrite == OverwritePolicy.Replace);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var segment in bytes)
        {
            hash.AppendData(segment.Span);
        }

        var actual = HashText.ToHex(hash.GetHashAndReset());
        if (!HashText.Sha256Equals(actual, request.Sha256))
        {
            throw new SxpException(ErrorCode.IntegrityFailed, $"SHA-256 mismatch: the server received {actual}, the client declared {request.Sha256.ToLowerInvariant()}. Nothing was stored.");
        }

        space.EnsureRoom(bytes.Length);
        var staging = NewPutStagingPath();
        try
        {
            using var handle = File.OpenHandle(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            long offset = 0;
            foreach (var segment in bytes)
            {
                RandomAccess.Write(handle, segment.Span, offset);
                offset += segment.Length;
            }

            FileTimes.Apply(handle, modifiedUtc);
        }
        catch (IOException ex) when (StorageErrors.IsDiskFull(ex))
        {
            File.Delete(staging);
            throw new SxpException(ErrorCode.StorageFull, "The server is out of disk space.");
        }

        return Enqueue(new StagedPut(user, path, staging, request.Size, actual, request.Overwrite == OverwritePolicy.Replace));
    }

    /// <summary>A fresh staging file name for a whole-file upload (the REST upload writes into it, then calls <see cref="CommitStagedAsync"/>).</summary>
    public string NewPutStagingPath() => Path.Combine(data.Staging, "put-" + Guid.NewGuid().ToString("N") + ".part");

    /// <summary>
    /// Commits a file already written to <paramref name="staging"/> and hashed by the caller, through
    /// the same batches, quota and path rules as PUT. The staging file is consumed either way.
    /// </summary>
    public Task<RemoteEntry> CommitStagedAsync(AuthenticatedUser user, RemotePath path, string staging, long size, string sha256, bool replace)
    {
        try
        {
            if (path.IsRoot)
            {
                throw new SxpException(ErrorCode.InvalidPath, "An upload needs a file path, not the root.");
            }

            using var target = roots.Resolve(user.Id, path);
            CheckTarget(target.Location, path, replace);
        }
        catch
        {
            File.Delete(staging);
            throw;
        }

        return Enqueue(new StagedPut(user, path, staging, size, sha256, replace));
    }

    private Task<RemoteEntry> Enqueue(StagedPut put)
    {
        _puts.Writer.TryWrite(put);
        EnsureCommitter();
        return put.Done.Task;
    }

    private static void CheckTarget(string target, RemotePath path, bool replace)
    {
        if (Directory.Exists(target))
        {
            throw new SxpException(ErrorCode.Conflict, $"'{path}' is a directory.");
        }

        if (!replace && File.Exists(target))
        {
            throw new SxpException(ErrorCode.Conflict, $"'{path}' already exists.");
        }
    }

    private void EnsureCommitter()
    {
        if (_committer is not null)
        {
            return;
        }

        lock (_committerGate)
        {
            _committer ??= Task.Run(CommitPutsAsync);
        }
    }

    /// <summary>Takes whatever has queued up while the previous batch was committing, and commits it as one batch.</summary>
    private async Task CommitPutsAsync()
    {
        var batch = new List<StagedPut>(MaxPutBatch);
        while (await _puts.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxPutBatch && _puts.Reader.TryRead(out var put))
            {
                batch.Add(put);
            }

            try
            {
                await CommitBatchAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogPutBatchFailed(logger, ex, batch.Count);
                foreach (var put in batch)
                {
                    if (put.Done.TrySetException(ex as SxpException ?? new SxpException(ErrorCode.Internal, "The server could not store the file.")))
                    {
                        File.Delete(put.Staging);
                    }
                }
            }
        }
    }

    private async Task CommitBatchAsync(List<StagedPut> batch)
    {
        using var commit = BeginCommit();
        // 1. Every staged byte of the batch reaches the disk with one sync.
        Durability.FlushFileSystem(data.Staging, batch.Select(p => p.Staging));

        foreach (var group in batch.GroupBy(p => p.User.Id))
        {
            var puts = group.ToList();
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync().ConfigureAwait(false);
                await using (await LockUserAsync(group.Key, CancellationToken.None).ConfigureAwait(false))
                {
                    await CommitUserPutsAsync(db, puts[0].User, puts).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One user's trouble (a database error, an account deleted meanwhile) stays with that user's files.
                LogPutBatchFailed(logger, ex, puts.Count);
                foreach (var put in puts.Where(p => !p.Done.Task.IsCompleted))
                {
                    File.Delete(put.Staging);
                    put.Done.TrySetException(ex as SxpException ?? new SxpException(ErrorCode.Internal, "The server could not store the file."));
                }
            }
        }
    }

    /// <summary>Quota, renames, directory flushes and one transaction for one user's part of a batch, under the user's lock.</summary>
    private async Task CommitUserPutsAsync(SecureXferDbContext db, AuthenticatedUser user, List<StagedPut> puts)
    {
        var paths = puts.Select(p => p.Path.Value).Distinct().ToList();
        var account = await db.Users.Where(u => u.Id == user.Id).Select(u => new { u.QuotaBytes }).SingleOrDefaultAsync().ConfigureAwait(false)
            ?? throw new SxpException(ErrorCode.AuthFailed, "The account no longer exists.");
        var quota = account.QuotaBytes;
        long used = 0;
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        if (quota is not null)
        {
            used = await db.Files.Where(f => f.OwnerId == user.Id).SumAsync(f => (long?)f.Size).ConfigureAwait(false) ?? 0;
            used += await db.UploadSessions.Where(s => s.OwnerId == user.Id).SumAsync(s => (long?)s.Size).ConfigureAwait(false) ?? 0;
            sizes = await db.Files.AsNoTracking().Where(f => f.OwnerId == user.Id && paths.Contains(f.Path)).ToDictionaryAsync(f => f.Path, f => f.Size, StringComparer.Ordinal).ConfigureAwait(false);
        }

        // A PUT that is refused leaves its path marked: that costs a new hash of the file on its next read, nothing more.
        await FileService.MarkInFlightAsync(db, user.Id, paths, CancellationToken.None).ConfigureAwait(false);
        var placed = new List<(StagedPut Put, RemoteEntry Entry, FileRecord Record)>();
        var superseded = new List<(StagedPut Put, RemoteEntry Entry)>();
        foreach (var put in puts)
        {
            try
            {
                if (quota is not null)
                {
                    var delta = put.Size - sizes.GetValueOrDefault(put.Path.Value);
                    if (used + delta > quota)
                    {
                        throw new SxpException(ErrorCode.QuotaExceeded, $"Quota exceeded: {used} bytes in use; {put.Size} more would pass the quota of {quota}.");
                    }

                    used += delta;
                    sizes[put.Path.Value] = put.Size;
                }

                using var target = roots.EnsureParents(user.Id, put.Path);
                CheckTarget(target.Location, put.Path, put.Replace);
                File.Move(put.Staging, target.Location, overwrite: true);
                var info = new FileInfo(target.Location);
                var modified = info.LastWriteTimeUtc;
                foreach (var earlier in placed.Where(p => p.Put.Path == put.Path).ToList())
                {
                    // Stored, then replaced by a later PUT of the same batch: answered with the batch.
                    placed.Remove(earlier);
                    superseded.Add((earlier.Put, earlier.Entry));
                }

                placed.Add((put,
                    new RemoteEntry(put.Path.Name, EntryType.File, put.Size, new DateTimeOffset(modified, TimeSpan.Zero), put.Sha256),
                    new FileRecord { OwnerId = user.Id, Path = put.Path.Value, Size = put.Size, Sha256 = put.Sha256, ModifiedTicks = modified.Ticks }));
            }
            catch (Exception ex) when (ex is SxpException or IOException or UnauthorizedAccessException)
            {
                File.Delete(put.Staging);
                put.Done.TrySetException(ex is SxpException ? ex : new SxpException(ErrorCode.Conflict, $"'{put.Path}' could not be stored: {ex.Message}"));
            }
        }

        if (placed.Count == 0)
        {
            return;
        }

        // 2. The renames are made durable once per directory (and each directory's own entry, up
        //    to the user's root, in case the batch created it), then recorded in one transaction.
        var root = roots.RootOf(user.Id);
        var flushed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var directory in placed.Select(p => Path.GetDirectoryName(roots.RealPathOf(user.Id, p.Put.Path))!))
        {
            Durability.FlushUpTo(root, directory, flushed);
        }

        crash.Hit(Diagnostics.CrashPoints.PutRenamed);
        var placedPaths = placed.Select(p => p.Put.Path.Value).ToList();
        await using (var transaction = await db.Database.BeginTransactionAsync().ConfigureAwait(false))
        {
            await db.Files.Where(f => f.OwnerId == user.Id && placedPaths.Contains(f.Path)).ExecuteDeleteAsync().ConfigureAwait(false);
            db.Files.AddRange(placed.Select(p => p.Record));
            await db.SaveChangesAsync().ConfigureAwait(false);
            crash.Hit(Diagnostics.CrashPoints.PutRecording);
            await transaction.CommitAsync().ConfigureAwait(false);
        }

        db.ChangeTracker.Clear();
        foreach (var (put, entry) in superseded)
        {
            put.Done.TrySetResult(entry);
        }

        foreach (var (put, entry, _) in placed)
        {
            LogPutCommitted(logger, user.Id, put.Size);
            metrics.Transfer("upload", ok: true);
            metrics.Bytes("upload", put.Size);
            put.Done.TrySetResult(entry);
        }
    }

    private sealed record StagedPut(AuthenticatedUser User, RemotePath Path, string Staging, long Size, string Sha256, bool Replace)
    {
        public TaskCompletionSource<RemoteEntry> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "Small file of user {UserId} committed: {Size} bytes")]
    private static partial void LogPutCommitted(ILogger logger, long userId, long size);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "A batch of {Count} small files could not be committed")]
    private static partial void LogPutBatchFailed(ILogger logger, Exception exception, int count);
}
