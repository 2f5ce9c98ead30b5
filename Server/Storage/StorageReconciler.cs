using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Paths;

namespace SecureXfer.Server.Storage;

/// <summary>
/// Brings the database back in step with the disk at start-up. Always: staged uploads without a
/// session are deleted and sessions without staged data dropped. After an unclean stop (the
/// running marker is still there): every user's tree is walked, and each file whose record is
/// missing, stale or marked in flight is hashed and recorded again, while records of files that
/// are gone are dropped. A crash at any step of a write leaves at worst such a record, so after
/// this pass every file has its true hash and quota accounting matches what is on disk.
/// </summary>
public sealed partial class StorageReconciler(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    DataDirectory data,
    UploadService uploads,
    RunningMarkers markers,
    Hosting.ServerInstance instance,
    ClusterLocks clusterLocks,
    ILogger<StorageReconciler> logger)
{
    private const int SaveEvery = 500;

    /// <summary>Checks that paths can be confined on this kernel, reconciles, then marks the data directory as in use until <see cref="MarkStopped"/>.</summary>
    public async Task<ReconcileReport?> RunAsync(CancellationToken cancellationToken)
    {
        ConfinedFs.EnsureSupported(data.Files);
        await uploads.ReconcileStagingAsync(cancellationToken).ConfigureAwait(false);
        ReconcileReport? report = null;
        if (markers.ClaimAbandoned())
        {
            report = await ReconcileTreesAsync(cancellationToken).ConfigureAwait(false);
            LogReconciled(logger, report.Files, report.Rehashed, report.Dropped);
        }

        markers.Hold(instance.Id);
        return report;
    }

    /// <summary>
    /// A clean stop: once no commit is under way (new ones are refused from now on), the marker
    /// goes and the next start need not walk the trees. With a commit still running after the
    /// wait, the marker stays and the next start reconciles.
    /// </summary>
    public void MarkStopped()
    {
        if (uploads.StopCommits(TimeSpan.FromSeconds(10)))
        {
            markers.Release();
        }
        else
        {
            markers.Dispose();
        }
    }

    public async Task<ReconcileReport> ReconcileTreesAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var users = await db.Users.Select(u => u.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
        var total = new ReconcileReport(0, 0, 0);
        foreach (var userId in users)
        {
            var root = Path.Combine(data.Files, userId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (Directory.Exists(root))
            {
                // Other instances may be committing for this user: their commits take the same lock. A
                // record changed by a move or delete meanwhile fails this user's pass, not the start.
                var held = await clusterLocks.AcquireAsync(ClusterLocks.Space.UserUploads, userId, cancellationToken).ConfigureAwait(false);
                try
                {
                    total += await ReconcileUserAsync(userId, root, cancellationToken).ConfigureAwait(false);
                }
                catch (DbUpdateException ex)
                {
                    LogUserSkipped(logger, userId, ex.Message);
                }
                finally
                {
                    if (held is not null)
                    {
                        await held.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }
            else
            {
                total += new ReconcileReport(0, 0, await db.Files.Where(f => f.OwnerId == userId).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        return total;
    }

    private async Task<ReconcileReport> ReconcileUserAsync(long userId, string root, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var records = await db.Files.Where(f => f.OwnerId == userId).ToDictionaryAsync(f => f.Path, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
        int files = 0, rehashed = 0, pending = 0;
        using var anchor = ConfinedFs.OpenAnchor(root);
        var walk = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
            IgnoreInaccessible = true,
            ReturnSpecialDirectories = false,
        };
        foreach (var file in new DirectoryInfo(root).EnumerateFiles("*", walk))
        {
            var relative = Path.GetRelativePath(root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (!RemotePath.TryParse("/" + relative, out var path, out _) || path.Value != "/" + relative)
            {
                continue;
            }

            files++;
            var found = records.Remove(path.Value, out var record);
            if (found && record!.Size == file.Length && record.ModifiedTicks == file.LastWriteTimeUtc.Ticks)
            {
                continue;
            }

            // Opened beneath the root without following links, and only if it is a regular file
            // (a FIFO or socket planted in the tree is skipped, not waited on).
            SafeFileHandle? opened;
            try
            {
                if (ConfinedFs.OpenFile(anchor, relative, write: false, out opened) != ConfinedFs.Outcome.Opened)
                {
                    continue;
                }
            }
            catch (IOException ex)
            {
                LogUnreadable(logger, userId, ex.Message);
                continue;
            }

            using (var handle = opened!)
            {
                var size = RandomAccess.GetLength(handle);
                var modified = File.GetLastWriteTimeUtc(handle).Ticks;
                var sha256 = await FileService.HashHandleAsync(handle, size, cancellationToken).ConfigureAwait(false);
                if (record is null)
                {
                    db.Files.Add(new FileRecord { OwnerId = userId, Path = path.Value, Size = size, Sha256 = sha256, ModifiedTicks = modified });
                }
                else
                {
                    (record.Size, record.Sha256, record.ModifiedTicks) = (size, sha256, modified);
                }
            }

            rehashed++;
            if (++pending >= SaveEvery)
            {
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                pending = 0;
            }
        }

        db.Files.RemoveRange(records.Values);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return new ReconcileReport(files, rehashed, records.Count);
    }

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Reconciliation skipped a file of user {UserId} it could not open: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, long userId, string reason);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "The previous run did not stop cleanly; storage reconciled: {Files} files checked, {Rehashed} hashed again, {Dropped} records of missing files dropped")]
    private static partial void LogReconciled(ILogger logger, int files, int rehashed, int dropped);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Reconciling the files of user {UserId} met a change made meanwhile by another instance ({Reason}); its records are left as they are")]
    private static partial void LogUserSkipped(ILogger logger, long userId, string reason);
}

/// <summary>What a reconciliation pass found: files on disk, files hashed again, and records dropped because their file was gone.</summary>
public sealed record ReconcileReport(int Files, int Rehashed, int Dropped)
{
    public static ReconcileReport operator +(ReconcileReport a, ReconcileReport b) => new(a.Files + b.Files, a.Rehashed + b.Rehashed, a.Dropped + b.Dropped);
}
