using Microsoft.EntityFrameworkCore;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Storage;

/// <summary>
/// File operations on a user's tree, shared by every front-end: stat, list, mkdir, remove,
/// move, and opening a file for reading with its recorded SHA-256. Disk and metadata are
/// kept in step: a hash is reported only while size and modification time still match.
/// </summary>
public sealed class FileService(IDbContextFactory<SecureXferDbContext> dbFactory, UserRoots roots)
{
    private const int ListBatch = 500;

    public async Task<RemoteEntry> StatAsync(AuthenticatedUser user, RemotePath path, CancellationToken cancellationToken)
    {
        using var target = roots.Resolve(user.Id, path);
        var location = target.Location;
        using (var directory = target.OpenDirectoryForTimes())
        {
            if (directory is not null)
            {
                return DirectoryEntry(path.Name, File.GetLastWriteTimeUtc(directory));
            }
        }

        var info = new FileInfo(location);
        if (!info.Exists)
        {
            throw NotFound(path);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await db.Files.AsNoTracking().SingleOrDefaultAsync(f => f.OwnerId == user.Id && f.Path == path.Value, cancellationToken).ConfigureAwait(false);
        return FileEntry(path.Name, info, record);
    }

    /// <summary>Entries of a directory, sorted by name; a file lists as itself. Links are never shown.</summary>
    public async Task<IReadOnlyList<RemoteEntry>> ListAsync(AuthenticatedUser user, RemotePath path, CancellationToken cancellationToken)
    {
        List<FileSystemInfo> children;
        using (var target = roots.Resolve(user.Id, path))
        {
            if (target.OpenDirectory() is not { } directory)
            {
                return [await StatAsync(user, path, cancellationToken).ConfigureAwait(false)];
            }

            children = new DirectoryInfo(directory).EnumerateFileSystemInfos()
            .Where(i => i.LinkTarget is null)
            .OrderBy(i => i.Name, StringComparer.Ordinal)
            .ToList();
        }

        var records = new Dictionary<string, FileRecord>(StringComparer.Ordinal);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (var batch in children.OfType<FileInfo>().Select(f => path.Append(f.Name).Value).Chunk(ListBatch))
            {
                var found = await db.Files.AsNoTracking()
                    .Where(f => f.OwnerId == user.Id && batch.Contains(f.Path))
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                foreach (var record in found)
                {
                    records[record.Path] = record;
                }
            }
        }

        return children.Select(child => child switch
        {
            DirectoryInfo dir => DirectoryEntry(dir.Name, dir.LastWriteTimeUtc),
            FileInfo file => FileEntry(file.Name, file, records.GetValueOrDefault(path.Append(file.Name).Value)),
            _ => throw new InvalidOperationException(),
        }).ToList();
    }

    /// <summary>Creates a directory and any missing parents. An existing directory is fine; an existing file is a conflict.</summary>
    public RemoteEntry Mkdir(AuthenticatedUser user, RemotePath path)
    {
        using (var existing = roots.Resolve(user.Id, path))
        {
            if (File.Exists(existing.Location))
            {
                throw new SxpException(ErrorCode.Conflict, $"'{path}' exists and is a file.");
            }
        }

        using var target = roots.EnsureParents(user.Id, path);
        Directory.CreateDirectory(target.Location);
        return DirectoryEntry(path.Name, new DirectoryInfo(target.Location).LastWriteTimeUtc);
    }

    public async Task RemoveAsync(AuthenticatedUser user, RemotePath path, bool recursive, CancellationToken cancellationToken)
    {
        if (path.IsRoot)
        {
            throw new SxpException(ErrorCode.BadRequest, "The root directory cannot be removed.");
        }

        using var target = roots.Resolve(user.Id, path);
        var location = target.Location;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(location))
        {
            if (!recursive && Directory.EnumerateFileSystemEntries(location).Any())
            {
                throw new SxpException(ErrorCode.Conflict, $"'{path}' is a directory that is not empty; remove it recursively.");
            }

            target.DeleteTree();
            // substr, not LIKE: LIKE ignores ASCII case in SQLite, and paths are case-sensitive.
            var prefix = path.Value + "/";
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"DELETE FROM files WHERE owner_id = {user.Id} AND substr(path, 1, length({prefix})) = {prefix}",
                cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!File.Exists(location))
        {
            throw NotFound(path);
        }

        File.Delete(location);
        await db.Files.Where(f => f.OwnerId == user.Id && f.Path == path.Value).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Renames a file or directory within the user's tree. An existing target file is replaced only when asked.</summary>
    public async Task<RemoteEntry> MoveAsync(AuthenticatedUser user, RemotePath from, RemotePath to, bool overwrite, CancellationToken cancellationToken)
    {
        if (from.IsRoot || to.IsRoot)
        {
            throw new SxpException(ErrorCode.BadRequest, "The root directory cannot be moved or replaced.");
        }

        if (to.IsSameOrBelow(from))
        {
            throw new SxpException(ErrorCode.BadRequest, $"'{from}' cannot be moved into itself.");
        }

        using var sourcePath = roots.Resolve(user.Id, from);
        using var targetPath = roots.Resolve(user.Id, to);
        var (source, target) = (sourcePath.Location, targetPath.Location);
        var isDirectory = Directory.Exists(source);
        if (!isDirectory && !File.Exists(source))
        {
            throw NotFound(from);
        }

        if (Directory.Exists(target) || (File.Exists(target) && (isDirectory || !overwrite)))
        {
            throw new SxpException(ErrorCode.Conflict, $"'{to}' already exists.");
        }

        if (!targetPath.ParentExists)
        {
            throw new SxpException(ErrorCode.NotFound, $"The directory '{to.Parent}' does not exist.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        long? fromTicks = null;
        if (!isDirectory)
        {
            // A crash between the rename and the records must not leave either record describing
            // other bytes; the moved file's record gets its time back when it moves with it.
            fromTicks = await db.Files.Where(f => f.OwnerId == user.Id && f.Path == from.Value).Select(f => (long?)f.ModifiedTicks).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            await MarkInFlightAsync(db, user.Id, [from.Value, to.Value], cancellationToken).ConfigureAwait(false);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (isDirectory)
        {
            Directory.Move(source, target);
            var prefix = from.Value + "/";
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"UPDATE files SET path = {to.Value} || substr(path, length({from.Value}) + 1) WHERE owner_id = {user.Id} AND substr(path, 1, length({prefix})) = {prefix}",
                cancellationToken).ConfigureAwait(false);
        }
        else
        {
            File.Move(source, target, overwrite);
            await db.Files.Where(f => f.OwnerId == user.Id && f.Path == to.Value).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"UPDATE files SET path = {to.Value}, modified_ticks = {fromTicks ?? -1} WHERE owner_id = {user.Id} AND path = {from.Value}",
                cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Durability.FlushDirectory(targetPath.ParentLocation);
        return await StatAsync(user, to, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets the modification time of a file or directory. A file's SHA-256 record follows the new
    /// time when it was current before, so the content need not be hashed again.
    /// </summary>
    public async Task<RemoteEntry> SetModifiedAsync(AuthenticatedUser user, RemotePath path, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        var modifiedUtc = FileTimes.Check(modified)!.Value;
        using var target = roots.Resolve(user.Id, path);
        using (var directory = target.OpenDirectoryForTimes())
        {
            if (directory is not null)
            {
                File.SetLastWriteTimeUtc(directory, modifiedUtc);
                return DirectoryEntry(path.Name, File.GetLastWriteTimeUtc(directory));
            }
        }

        // The time goes on the inode that was opened and checked, even if the name is replaced meanwhile.
        using (var handle = target.OpenFile(write: true) ?? throw NotFound(path))
        {
            var size = RandomAccess.GetLength(handle);
            var before = File.GetLastWriteTimeUtc(handle).Ticks;
            FileTimes.Apply(handle, modifiedUtc);
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await db.Files
                .Where(f => f.OwnerId == user.Id && f.Path == path.Value && f.Size == size && f.ModifiedTicks == before)
                .ExecuteUpdateAsync(u => u.SetProperty(f => f.ModifiedTicks, File.GetLastWriteTimeUtc(handle).Ticks), cancellationToken).ConfigureAwait(false);
        }

        return await StatAsync(user, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a file for reading and returns it with its SHA-256. A file whose record is missing
    /// or stale (changed outside SecureXfer) is hashed now and the record refreshed.
    /// </summary>
    public async Task<OpenedFile> OpenReadAsync(AuthenticatedUser user, RemotePath path, CancellationToken cancellationToken)
    {
        SafeFileHandle handle;
        using (var target = roots.Resolve(user.Id, path))
        {
            if (Directory.Exists(target.Location))
            {
                throw new SxpException(ErrorCode.Conflict, $"'{path}' is a directory.");
            }

            handle = target.OpenFile(write: false) ?? throw NotFound(path);
        }

        try
        {
            var size = RandomAccess.GetLength(handle);
            var modified = File.GetLastWriteTimeUtc(handle);
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var record = await db.Files.SingleOrDefaultAsync(f => f.OwnerId == user.Id && f.Path == path.Value, cancellationToken).ConfigureAwait(false);
            if (record is null || record.Size != size || record.ModifiedTicks != modified.Ticks)
            {
                var sha256 = await HashHandleAsync(handle, size, cancellationToken).ConfigureAwait(false);
                if (record is null)
                {
                    db.Files.Add(new FileRecord { OwnerId = user.Id, Path = path.Value, Size = size, Sha256 = sha256, ModifiedTicks = modified.Ticks });
                }
                else
                {
                    record.Size = size;
                    record.Sha256 = sha256;
                    record.ModifiedTicks = modified.Ticks;
                }

                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                return new OpenedFile(handle, size, sha256, modified);
            }

            return new OpenedFile(handle, size, record.Sha256, modified);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Before files are renamed over these paths, their records are marked in flight (a modification
    /// time no file has), so a crash between the rename and the new record cannot leave the old
    /// hash standing for new content: the record only counts towards the quota until it is
    /// replaced, or until the start-up reconciliation hashes the file that is actually there.
    /// </summary>
    internal static async Task MarkInFlightAsync(SecureXferDbContext db, long ownerId, IReadOnlyCollection<string> paths, CancellationToken cancellationToken) =>
        await db.Files.Where(f => f.OwnerId == ownerId && paths.Contains(f.Path))
            .ExecuteUpdateAsync(u => u.SetProperty(f => f.ModifiedTicks, InFlightTicks), cancellationToken).ConfigureAwait(false);

    /// <summary>The modification time of a record whose file is being replaced.</summary>
    private const long InFlightTicks = -1;

    internal static async Task<string> HashHandleAsync(SafeFileHandle handle, long size, CancellationToken cancellationToken)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        await HashText.AppendRangeAsync(handle, sha, 0, size, cancellationToken).ConfigureAwait(false);
        return HashText.ToHex(sha.GetHashAndReset());
    }

    internal static RemoteEntry FileEntry(string name, FileInfo info, FileRecord? record)
    {
        var valid = record is not null && record.Size == info.Length && record.ModifiedTicks == info.LastWriteTimeUtc.Ticks;
        return new RemoteEntry(name, EntryType.File, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero), valid ? record!.Sha256 : null);
    }

    private static RemoteEntry DirectoryEntry(string name, DateTime modifiedUtc) =>
        new(name, EntryType.Dir, 0, new DateTimeOffset(modifiedUtc, TimeSpan.Zero), null);

    private static SxpException NotFound(RemotePath path) => new(ErrorCode.NotFound, $"'{path}' does not exist.");
}

/// <summary>A file opened for reading, with the SHA-256 of its content. The caller disposes it.</summary>
public sealed record OpenedFile(Microsoft.Win32.SafeHandles.SafeFileHandle Handle, long Size, string Sha256, DateTime ModifiedUtc) : IDisposable
{
    public void Dispose() => Handle.Dispose();
}
