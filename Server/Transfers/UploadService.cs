using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Transfers;

/// <summary>
/// Staged, resumable uploads. Open reserves quota and creates (or finds) the staged session;
/// chunks are written at their offsets and recorded; commit verifies the SHA-256, flushes,
/// renames into place and records the hash. Sessions and their chunk CRCs live in the
/// database, so an upload survives a restart; on resume every staged chunk is re-checked.
/// </summary>
public sealed partial class UploadService(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    DataDirectory data,
    UserRoots roots,
    IOptions<SecureXferOptions> options,
    TimeProvider time,
    Observability.ServerMetrics metrics,
    Diagnostics.CrashPoints crash,
    DiskSpace space,
    ClusterLocks clusterLocks,
    Persistence.Database database,
    ILogger<UploadService> logger)
{
    /// <summary>Most chunks one upload may have; the server raises the chunk size to stay below it.</summary>
    public const int MaxChunks = 1 << 20;

    public const long MaxFileSize = 16L << 40;

    /// <summary>Chunk records are written in batches: after this many chunks, or after <see cref="SaveInterval"/>.</summary>
    private const int SaveEvery = 8;

    private static readonly TimeSpan SaveInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, ActiveUpload> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, SemaphoreSlim> _userLocks = new();
    private int _committing;
    private volatile bool _stopping;

    public int Window => Math.Clamp(options.Value.UploadWindow, 1, 64);

    public async Task<(ActiveUpload Upload, UploadReadyResponse Ready)> OpenAsync(AuthenticatedUser user, UploadOpenRequest request, CancellationToken cancellationToken)
    {
        var path = RemotePath.Parse(request.Path);
        if (path.IsRoot)
        {
            throw new SxpException(ErrorCode.InvalidPath, "Upload needs a file path, not the root.");
        }

        if (request.Size < 0 || request.Size > MaxFileSize)
        {
            throw new SxpException(ErrorCode.BadRequest, $"Size must be between 0 and {MaxFileSize} bytes.");
        }

        if (request.Sha256 is not null && !HashText.IsSha256Hex(request.Sha256))
        {
            throw new SxpException(ErrorCode.BadRequest, "sha256 must be 64 hex digits.");
        }

        var chunkSize = ChooseChunkSize(request.Size, request.ChunkSize);
        using (var target = roots.Resolve(user.Id, path))
        {
            if (Directory.Exists(target.Location))
            {
                throw new SxpException(ErrorCode.Conflict, $"'{path}' is a directory.");
            }

            if (File.Exists(target.Location) && request.Overwrite == OverwritePolicy.Fail)
            {
                throw new SxpException(ErrorCode.Conflict, $"'{path}' already exists.");
            }
        }

        await using (await LockUserAsync(user.Id, cancellationToken).ConfigureAwait(false))
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var samePath = await db.UploadSessions.Where(s => s.OwnerId == user.Id && s.Path == path.Value).ToListAsync(cancellationToken).ConfigureAwait(false);
            // The staged session keeps its own chunk size, whatever this open asked for: the answer tells the client.
            var resumable = samePath.FirstOrDefault(s => s.Size == request.Size);
            foreach (var stale in samePath.Where(s => s != resumable))
            {
                // A new upload of the same path with another size supersedes older staged attempts;
                // connections still attached to them are cut off before their data is deleted.
                await RetireAsync(stale.Id, save: false).ConfigureAwait(false);
                await DiscardAsync(db, stale.Id).ConfigureAwait(false);
            }

            ActiveUpload upload;
            if (resumable is not null)
            {
                await RetireAsync(resumable.Id, save: true).ConfigureAwait(false);
                upload = await ReloadAsync(db, resumable, path, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await CheckQuotaAsync(db, user, path, request.Size, null, cancellationToken).ConfigureAwait(false);
                upload = await CreateAsync(db, user, path, request.Size, chunkSize, request.Overwrite == OverwritePolicy.Replace, cancellationToken).ConfigureAwait(false);
            }

            upload.TryAttach();
            _active[upload.Id] = upload;
            LogOpened(logger, upload.Id, user.Id, upload.Size, upload.ReceivedCount, upload.ChunkCount);
            return (upload, Ready(upload));
        }
    }

    /// <summary>Joins another connection to an upload in progress, for parallel sending.</summary>
    public async Task<(ActiveUpload Upload, UploadReadyResponse Ready)> AttachAsync(AuthenticatedUser user, string uploadId, CancellationToken cancellationToken)
    {
        await using (await LockUserAsync(user.Id, cancellationToken).ConfigureAwait(false))
        {
            if (!_active.TryGetValue(uploadId ?? string.Empty, out var upload) || upload.OwnerId != user.Id || !upload.TryAttach())
            {
                throw new SxpException(ErrorCode.UploadGone, "No such upload in progress; open it again to resume.");
            }

            // An attaching connection only sends chunks; the list of held chunks went to the opener.
            return (upload, new UploadReadyResponse(upload.Id, upload.Size, upload.ChunkSize, Window, [], []));
        }
    }

    /// <summary>
    /// At shutdown: no new commit starts (they get Busy and can be repeated after the restart),
    /// and this waits for those under way. True when none is left, so the stop counts as clean.
    /// </summary>
    public bool StopCommits(TimeSpan wait)
    {
        _stopping = true;
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (Volatile.Read(ref _committing) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        return Volatile.Read(ref _committing) == 0;
    }

    /// <summary>Counts a commit (between its first change on disk and its last record) so a stop can wait for it.</summary>
    private Release BeginCommit()
    {
        Interlocked.Increment(ref _committing);
        if (_stopping)
        {
            Interlocked.Decrement(ref _committing);
            throw new SxpException(ErrorCode.Busy, "The server is shutting down; commit again once it is back.");
        }

        return new Release(() => Interlocked.Decrement(ref _committing));
    }

    /// <summary>Takes an upload out of service (a newer open supersedes it): attached connections get UploadGone from now on.</summary>
    private async Task RetireAsync(string uploadId, bool save)
    {
        if (_active.TryRemove(uploadId, out var previous))
        {
            await previous.CloseAsync().ConfigureAwait(false);
            if (save)
            {
                await SaveChunksAsync(previous, force: true, CancellationToken.None).ConfigureAwait(false);
            }

            previous.Dispose();
        }
    }

    /// <summary>Writes one chunk. Returns false when its CRC32C does not match its bytes (the client should resend it).</summary>
    public async Task<bool> WriteAsync(ActiveUpload upload, long offset, uint crc, ReadOnlySequence<byte> bytes, CancellationToken cancellationToken)
    {
        if (offset < 0 || offset >= upload.Size || offset % upload.ChunkSize != 0)
        {
            throw new SxpException(ErrorCode.BadRequest, $"Offset {offset} is not the start of a chunk of this upload.");
        }

        var index = (int)(offset / upload.ChunkSize);
        if (bytes.Length != upload.ChunkLength(index))
        {
            throw new SxpException(ErrorCode.BadRequest, $"Chunk {index} must be {upload.ChunkLength(index)} bytes, not {bytes.Length}.");
        }

        space.EnsureRoom(bytes.Length);
        var stored = upload.Direct is not null && DirectIo.IsAligned(offset, bytes.Length)
            ? await WriteDirectAsync(upload, index, offset, crc, bytes, cancellationToken).ConfigureAwait(false)
            : await WriteBufferedAsync(upload, index, offset, crc, bytes, cancellationToken).ConfigureAwait(false);
        if (!stored)
        {
            return false;
        }

        crash.Hit(Diagnostics.CrashPoints.UploadChunkWritten);

        if (upload.UnsavedCount >= SaveEvery || time.GetElapsedTime(upload.LastSavedAt) > SaveInterval)
        {
            await SaveChunksAsync(upload, force: false, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Verifies and stores an upload. <paramref name="modified"/>, when given, becomes the file's modification time.</summary>
    public async Task<RemoteEntry> CommitAsync(AuthenticatedUser user, string uploadId, string sha256, DateTimeOffset? modified, CancellationToken cancellationToken)
    {
        var modifiedUtc = FileTimes.Check(modified);
        if (!_active.TryGetValue(uploadId ?? string.Empty, out var upload) || upload.OwnerId != user.Id)
        {
            throw new SxpException(ErrorCode.UploadGone, "No such upload in progress; open it again to resume.");
        }

        if (!HashText.IsSha256Hex(sha256))
        {
            throw new SxpException(ErrorCode.BadRequest, "sha256 must be 64 hex digits.");
        }

        if (upload.ReceivedCount != upload.ChunkCount)
        {
            throw new SxpException(ErrorCode.BadRequest, $"{upload.ChunkCount - upload.ReceivedCount} of {upload.ChunkCount} chunks have not arrived.");
        }

        // Opens, attaches and other commits of this user wait until this one is done, so nothing
        // can write into the staged file between its verification and its rename.
        await using (await LockUserAsync(user.Id, cancellationToken).ConfigureAwait(false))
        {
            if (!_active.TryRemove(new KeyValuePair<string, ActiveUpload>(upload.Id, upload)))
            {
                throw new SxpException(ErrorCode.UploadGone, "The upload is being committed or was reopened.");
            }

            await upload.CloseAsync().ConfigureAwait(false);
            using (BeginCommit())
            {
                return await CommitClosedAsync(user, upload, sha256, modifiedUtc, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<RemoteEntry> CommitClosedAsync(AuthenticatedUser user, ActiveUpload upload, string sha256, DateTime? modifiedUtc, CancellationToken cancellationToken)
    {
        try
        {
            var actual = upload.FinishHash();
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var expected = await db.UploadSessions.Where(s => s.Id == upload.Id).Select(s => s.Id).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (expected is null)
            {
                throw new SxpException(ErrorCode.UploadGone, "The upload was aborted.");
            }

            // The quota is judged again now: the file being replaced may have been moved or removed since the open.
            await CheckQuotaAsync(db, user, upload.Path, upload.Size, upload.Id, cancellationToken).ConfigureAwait(false);

            if (!HashText.Sha256Equals(actual, sha256))
            {
                await DiscardAsync(db, upload.Id).ConfigureAwait(false);
                metrics.Transfer("upload", ok: false);
                LogIntegrityFailure(logger, upload.Id, user.Id);
                throw new SxpException(ErrorCode.IntegrityFailed, $"SHA-256 mismatch: the server received {actual}, the client declared {sha256.ToLowerInvariant()}. Nothing was stored.");
            }

            crash.Hit(Diagnostics.CrashPoints.UploadVerified);
            FileTimes.Apply(upload.Handle, modifiedUtc);
            RandomAccess.FlushToDisk(upload.Handle);
            upload.Dispose();

            using var target = roots.EnsureParents(user.Id, upload.Path);
            if (Directory.Exists(target.Location))
            {
                throw new SxpException(ErrorCode.Conflict, $"'{upload.Path}' is now a directory.");
            }

            if (!upload.ReplaceExisting && File.Exists(target.Location))
            {
                throw new SxpException(ErrorCode.Conflict, $"'{upload.Path}' was created while the upload ran.");
            }

            await FileService.MarkInFlightAsync(db, user.Id, [upload.Path.Value], cancellationToken).ConfigureAwait(false);
            File.Move(upload.StagingPath, target.Location, overwrite: true);
            Durability.FlushDirectory(target.ParentLocation);

            // Directories the commit created above it are made durable too (decides nothing, so by name).
            Durability.FlushUpTo(roots.RootOf(user.Id), Path.GetDirectoryName(roots.RealPathOf(user.Id, upload.Path))!);
            crash.Hit(Diagnostics.CrashPoints.UploadRenamed);

            var info = new FileInfo(target.Location);
            await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await db.Files.Where(f => f.OwnerId == user.Id && f.Path == upload.Path.Value).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
                db.Files.Add(new FileRecord
                {
                    OwnerId = user.Id,
                    Path = upload.Path.Value,
                    Size = info.Length,
                    Sha256 = actual,
                    ModifiedTicks = info.LastWriteTimeUtc.Ticks,
                });
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                await db.UploadSessions.Where(s => s.Id == upload.Id).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
                crash.Hit(Diagnostics.CrashPoints.UploadRecording);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            metrics.Transfer("upload", ok: true);
            LogCommitted(logger, upload.Id, user.Id, info.Length);
            return new RemoteEntry(upload.Path.Name, EntryType.File, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero), actual);
        }
        finally
        {
            upload.Dispose();
        }
    }

    /// <summary>
    /// Aborts an upload: its staged data goes and its quota reservation with it. Only the owner's
    /// uploads, unless <paramref name="anyOwner"/> (an admin); anything else is "no such upload".
    /// </summary>
    public async Task AbortAsync(AuthenticatedUser user, string uploadId, CancellationToken cancellationToken, bool anyOwner = false)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var owner = await db.UploadSessions.Where(s => s.Id == uploadId && (anyOwner || s.OwnerId == user.Id)).Select(s => (long?)s.OwnerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            throw new SxpException(ErrorCode.UploadGone, "No such upload.");
        }

        await using (await LockUserAsync(owner.Value, cancellationToken).ConfigureAwait(false))
        {
            await RetireAsync(uploadId, save: false).ConfigureAwait(false);
            await DiscardAsync(db, uploadId).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Discards uploads that no connection holds and that have received nothing for
    /// <paramref name="age"/>: staged data and quota reservation go. Returns how many.
    /// </summary>
    public async Task<int> DiscardAbandonedAsync(TimeSpan age, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow().Subtract(age).ToUnixTimeMilliseconds();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var stale = await db.UploadSessions.Where(s => s.UpdatedAt < cutoff).Select(s => new { s.Id, s.OwnerId }).ToListAsync(cancellationToken).ConfigureAwait(false);
        var discarded = 0;
        foreach (var session in stale.Where(s => !_active.ContainsKey(s.Id)))
        {
            await using (await LockUserAsync(session.OwnerId, cancellationToken).ConfigureAwait(false))
            {
                // Looked at again under the owner's lock: an open may have taken it up meanwhile.
                if (_active.ContainsKey(session.Id))
                {
                    continue;
                }

                await DiscardAsync(db, session.Id).ConfigureAwait(false);
                discarded++;
            }
        }

        return discarded;
    }

    /// <summary>Uploads in progress (one owner's, or everyone's with null), with how much has arrived: live counts for active ones, recorded chunks otherwise.</summary>
    public async Task<IReadOnlyList<UploadProgress>> ListAsync(long? ownerId, string? uploadId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var sessions = db.UploadSessions.AsNoTracking();
        if (ownerId is { } owner)
        {
            sessions = sessions.Where(s => s.OwnerId == owner);
        }

        if (uploadId is not null)
        {
            sessions = sessions.Where(s => s.Id == uploadId);
        }

        var rows = await sessions.OrderBy(s => s.CreatedAt)
            .Select(s => new { Session = s, Recorded = db.UploadChunks.Count(c => c.UploadId == s.Id) })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(r =>
        {
            var count = (int)((r.Session.Size + r.Session.ChunkSize - 1) / Math.Max(1, r.Session.ChunkSize));
            var active = _active.TryGetValue(r.Session.Id, out var live);
            var received = active ? live!.ReceivedCount : r.Recorded;
            var bytes = Math.Min(r.Session.Size, (long)received * r.Session.ChunkSize);
            return new UploadProgress(r.Session.Id, r.Session.OwnerId, r.Session.Path, r.Session.Size, r.Session.ChunkSize, count, received, bytes, active, r.Session.CreatedAt, r.Session.UpdatedAt);
        }).ToList();
    }

    /// <summary>After a user is deleted: their uploads in progress stop, and their staged data goes.</summary>
    public async Task ForgetUserAsync(long userId, IReadOnlyCollection<string> sessionIds)
    {
        foreach (var upload in _active.Values.Where(u => u.OwnerId == userId).ToList())
        {
            await RetireAsync(upload.Id, save: false).ConfigureAwait(false);
        }

        foreach (var id in sessionIds)
        {
            File.Delete(StagingPath(id));
        }
    }

    /// <summary>A connection lets go of an upload. When none is left, its state is saved and its file closed; a later open resumes it.</summary>
    public async Task DetachAsync(ActiveUpload upload)
    {
        if (!upload.Detach())
        {
            return;
        }

        if (_active.TryRemove(new KeyValuePair<string, ActiveUpload>(upload.Id, upload)))
        {
            await upload.CloseAsync().ConfigureAwait(false);
            await SaveChunksAsync(upload, force: true, CancellationToken.None).ConfigureAwait(false);
            upload.Dispose();
        }
    }

    /// <summary>
    /// Run at start-up: staged files without a session are deleted, and sessions whose staged
    /// file is gone are dropped, so quota reservations match what is on disk.
    /// </summary>
    public async Task ReconcileStagingAsync(CancellationToken cancellationToken)
    {
        // With SQLite this server is the only one, and nothing is under way yet. Instances sharing
        // PostgreSQL may be writing now: only what has been still for an hour is taken as left over.
        var grace = database.IsSqlite ? TimeSpan.Zero : TimeSpan.FromHours(1);
        var cutoff = time.GetUtcNow() - grace;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var sessions = await db.UploadSessions.Select(s => new { s.Id, s.UpdatedAt }).ToListAsync(cancellationToken).ConfigureAwait(false);
        var known = sessions.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(data.Staging))
        {
            if (!known.Contains(Path.GetFileNameWithoutExtension(file)) && File.GetLastWriteTimeUtc(file) <= cutoff.UtcDateTime)
            {
                File.Delete(file);
            }
        }

        foreach (var session in sessions.Where(s => s.UpdatedAt <= cutoff.ToUnixTimeMilliseconds() && !File.Exists(StagingPath(s.Id))))
        {
            await DiscardAsync(db, session.Id).ConfigureAwait(false);
        }
    }

    private static UploadReadyResponse Ready(ActiveUpload upload, int window)
    {
        var (indexes, crcs) = upload.Held();
        return new UploadReadyResponse(upload.Id, upload.Size, upload.ChunkSize, window, indexes, crcs);
    }

    private UploadReadyResponse Ready(ActiveUpload upload) => Ready(upload, Window);

    /// <summary>
    /// Opens, attaches, commits and aborts of one user run one at a time: quota reservations
    /// cannot race, and nothing writes into a staged file between its verification and its rename.
    /// </summary>
    private async Task<IAsyncDisposable> LockUserAsync(long userId, CancellationToken cancellationToken)
    {
        var gate = _userLocks.GetOrAdd(userId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Instances sharing a PostgreSQL database take turns too.
            var shared = await clusterLocks.AcquireAsync(ClusterLocks.Space.UserUploads, userId, cancellationToken).ConfigureAwait(false);
            return new UserLock(gate, shared);
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    private sealed class UserLock(SemaphoreSlim gate, IAsyncDisposable? shared) : IAsyncDisposable
    {
        private int _done;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0)
            {
                return;
            }

            try
            {
                if (shared is not null)
                {
                    await shared.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                gate.Release();
            }
        }
    }

    private sealed class Release(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                release();
            }
        }
    }

    private static int ChooseChunkSize(long size, int requested)
    {
        var chunk = requested == 0 ? SxpLimits.DefaultChunkSize : requested;
        if (chunk < SxpLimits.MinChunkSize || chunk > SxpLimits.MaxChunkSize)
        {
            throw new SxpException(ErrorCode.BadRequest, $"Chunk size must be between {SxpLimits.MinChunkSize} and {SxpLimits.MaxChunkSize} bytes.");
        }

        while ((size + chunk - 1) / chunk > MaxChunks && chunk < SxpLimits.MaxChunkSize)
        {
            chunk = Math.Min(chunk * 2, SxpLimits.MaxChunkSize);
        }

        return chunk;
    }

    /// <summary>
    /// Files stored (except the one at <paramref name="path"/>, which this upload replaces), plus
    /// the sizes reserved by the user's other uploads in progress, plus this upload, must fit the quota.
    /// </summary>
    private static async Task CheckQuotaAsync(SecureXferDbContext db, AuthenticatedUser user, RemotePath path, long size, string? uploadId, CancellationToken cancellationToken)
    {
        var quota = await db.Users.Where(u => u.Id == user.Id).Select(u => u.QuotaBytes).SingleAsync(cancellationToken).ConfigureAwait(false);
        if (quota is null)
        {
            return;
        }

        var stored = await db.Files.Where(f => f.OwnerId == user.Id && f.Path != path.Value).SumAsync(f => (long?)f.Size, cancellationToken).ConfigureAwait(false) ?? 0;
        var reserved = await db.UploadSessions.Where(s => s.OwnerId == user.Id && s.Path != path.Value && s.Id != uploadId).SumAsync(s => (long?)s.Size, cancellationToken).ConfigureAwait(false) ?? 0;
        if (stored + reserved + size > quota)
        {
            throw new SxpException(ErrorCode.QuotaExceeded,
                $"Quota exceeded: {stored} bytes stored and {reserved} reserved by uploads in progress; {size} more would pass the quota of {quota}.");
        }
    }

    private async Task<ActiveUpload> CreateAsync(SecureXferDbContext db, AuthenticatedUser user, RemotePath path, long size, int chunkSize, bool replace, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        db.UploadSessions.Add(new UploadSessionRecord
        {
            Id = id,
            OwnerId = user.Id,
            Path = path.Value,
            Size = size,
            ChunkSize = chunkSize,
            ReplaceExisting = replace,
            CreatedAt = now,
            UpdatedAt = now,
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

        var staging = StagingPath(id);
        var handle = OpenStaging(staging, FileMode.CreateNew);

        // The first batch of chunk records is due a second from now, so a small file is committed before any is written.
        return new ActiveUpload(id, user.Id, path, size, chunkSize, replace, staging, handle, OpenDirect(handle, size)) { LastSavedAt = time.GetTimestamp() };
    }

    /// <summary>Rebuilds an upload from its database rows, keeping only chunks whose bytes on disk still match their CRC32C.</summary>
    private async Task<ActiveUpload> ReloadAsync(SecureXferDbContext db, UploadSessionRecord session, RemotePath path, CancellationToken cancellationToken)
    {
        var staging = StagingPath(session.Id);
        var handle = OpenStaging(staging, FileMode.OpenOrCreate);
        var upload = new ActiveUpload(session.Id, session.OwnerId, path, session.Size, session.ChunkSize, session.ReplaceExisting, staging, handle, OpenDirect(handle, session.Size))
        {
            LastSavedAt = time.GetTimestamp(),
        };
        var chunks = await db.UploadChunks.Where(c => c.UploadId == session.Id).OrderBy(c => c.ChunkIndex).ToListAsync(cancellationToken).ConfigureAwait(false);
        var damaged = new List<int>();
        var buffer = ArrayPool<byte>.Shared.Rent(session.ChunkSize);
        try
        {
            var fileLength = RandomAccess.GetLength(handle);
            foreach (var chunk in chunks.Where(c => c.ChunkIndex >= 0 && c.ChunkIndex < upload.ChunkCount))
            {
                var length = upload.ChunkLength(chunk.ChunkIndex);
                var offset = (long)chunk.ChunkIndex * session.ChunkSize;
                var span = buffer.AsSpan(0, length);
                if (offset + length > fileLength || RandomAccess.Read(handle, span, offset) != length || Crc32C.Compute(span) != (uint)chunk.Crc32C)
                {
                    damaged.Add(chunk.ChunkIndex);
                    continue;
                }

                upload.MarkVerified(chunk.ChunkIndex, (uint)chunk.Crc32C, span);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (damaged.Count > 0)
        {
            LogDamagedChunks(logger, session.Id, damaged.Count);
            await db.UploadChunks.Where(c => c.UploadId == session.Id && damaged.Contains(c.ChunkIndex)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        }

        return upload;
    }

    private async Task SaveChunksAsync(ActiveUpload upload, bool force, CancellationToken cancellationToken)
    {
        if (!force && upload.Closed)
        {
            return;
        }

        upload.LastSavedAt = time.GetTimestamp();
        var rows = upload.TakeUnsaved();
        if (rows.Count == 0)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var exists = await db.UploadSessions.AnyAsync(s => s.Id == upload.Id, cancellationToken).ConfigureAwait(false);
        if (!exists)
        {
            return;
        }

        foreach (var (index, crc) in rows)
        {
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"INSERT INTO upload_chunks (upload_id, chunk_index, crc32c) VALUES ({upload.Id}, {index}, {(long)crc}) ON CONFLICT (upload_id, chunk_index) DO UPDATE SET crc32c = excluded.crc32c",
                cancellationToken).ConfigureAwait(false);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.UploadSessions.Where(s => s.Id == upload.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }


    private async Task DiscardAsync(SecureXferDbContext db, string uploadId)
    {
        await db.UploadSessions.Where(s => s.Id == uploadId).ExecuteDeleteAsync().ConfigureAwait(false);
        File.Delete(StagingPath(uploadId));
    }

    /// <summary>An aligned chunk is gathered into one aligned buffer, checked, written unbuffered, and hashed from that buffer.</summary>
    private static async Task<bool> WriteDirectAsync(ActiveUpload upload, int index, long offset, uint crc, ReadOnlySequence<byte> bytes, CancellationToken cancellationToken)
    {
        var length = (int)bytes.Length;
        var buffer = AlignedBuffer.Rent(length);
        var owned = true;
        try
        {
            bytes.CopyTo(buffer.Span);
            if (Crc32C.Compute(buffer.Span[..length]) != crc)
            {
                return false;
            }

            await GuardWriteAsync(upload, async () =>
            {
                try
                {
                    await RandomAccess.WriteAsync(upload.Direct ?? upload.Handle, buffer.Memory[..length], offset, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when ((ex is IOException io && !StorageErrors.IsDiskFull(io)) || (ex is ObjectDisposedException && upload.Direct is null && !upload.Closed))
                {
                    // Some file systems accept O_DIRECT at open but refuse the writes: fall back for good.
                    // (Another lane may have just done so and closed the unbuffered handle under this write.)
                    upload.StopDirect();
                    await RandomAccess.WriteAsync(upload.Handle, buffer.Memory[..length], offset, cancellationToken).ConfigureAwait(false);
                }

                owned = false;
                upload.MarkReceived(index, crc, buffer, length);
            }).ConfigureAwait(false);
            return true;
        }
        finally
        {
            if (owned)
            {
                buffer.Dispose();
            }
        }
    }

    private static async Task<bool> WriteBufferedAsync(ActiveUpload upload, int index, long offset, uint crc, ReadOnlySequence<byte> bytes, CancellationToken cancellationToken)
    {
        if (Crc32C.Compute(bytes) != crc)
        {
            return false;
        }

        await GuardWriteAsync(upload, async () =>
        {
            if (bytes.IsSingleSegment)
            {
                await RandomAccess.WriteAsync(upload.Handle, bytes.First, offset, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var segments = new List<ReadOnlyMemory<byte>>();
                foreach (var segment in bytes)
                {
                    segments.Add(segment);
                }

                await RandomAccess.WriteAsync(upload.Handle, segments, offset, cancellationToken).ConfigureAwait(false);
            }

            upload.MarkReceived(index, crc, bytes);
        }).ConfigureAwait(false);
        return true;
    }

    /// <summary>Runs one write while the upload is held open, turning storage failures into protocol errors.</summary>
    private static async Task GuardWriteAsync(ActiveUpload upload, Func<Task> write)
    {
        if (!upload.BeginWrite())
        {
            throw new SxpException(ErrorCode.UploadGone, "This upload was committed, aborted or reopened elsewhere.");
        }

        try
        {
            await write().ConfigureAwait(false);
        }
        catch (IOException ex) when (StorageErrors.IsDiskFull(ex))
        {
            throw new SxpException(ErrorCode.StorageFull, "The server is out of disk space.");
        }
        catch (ObjectDisposedException)
        {
            throw new SxpException(ErrorCode.UploadGone, "This upload was committed, aborted or reopened elsewhere.");
        }
        finally
        {
            upload.EndWrite();
        }
    }

    /// <summary>Uploads of at least a chunk get an unbuffered handle too, unless turned off.</summary>
    private SafeFileHandle? OpenDirect(SafeFileHandle staging, long size) =>
        options.Value.DirectIo && size >= SxpLimits.MinChunkSize ? DirectIo.TryReopen(staging, writable: true) : null;

    private string StagingPath(string id) => Path.Combine(data.Staging, id + ".part");

    private static SafeFileHandle OpenStaging(string path, FileMode mode) =>
        File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.Read, FileOptions.None);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Upload {UploadId} opened by user {UserId}: {Size} bytes, {Held}/{Chunks} chunks already held")]
    private static partial void LogOpened(ILogger logger, string uploadId, long userId, long size, int held, int chunks);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Upload {UploadId} committed by user {UserId}: {Size} bytes")]
    private static partial void LogCommitted(ILogger logger, string uploadId, long userId, long size);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Upload {UploadId} of user {UserId} failed its SHA-256 check and was discarded")]
    private static partial void LogIntegrityFailure(ILogger logger, string uploadId, long userId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Upload {UploadId}: {Count} staged chunks no longer match their checksum and will be sent again")]
    private static partial void LogDamagedChunks(ILogger logger, string uploadId, int count);
}

/// <summary>An upload in progress as the control plane shows it. <see cref="BytesReceived"/> is approximate by up to one chunk (the last one may be short).</summary>
public sealed record UploadProgress(string Id, long OwnerId, string Path, long Size, int ChunkSize, int ChunkCount, int ChunksReceived, long BytesReceived, bool Active, long CreatedAt, long UpdatedAt);
