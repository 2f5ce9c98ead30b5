using System.Security.Cryptography;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;

namespace SecureXfer.Shared.Endpoints;

/// <summary>
/// A directory on this machine. Links to files read as the files they lead to; links to
/// directories are never entered (a listing shows them as <see cref="EntryKind.Other"/>), so
/// nothing is read or written through one. Writes go to a partial file
/// beside the target, flushed and carrying the source's modification time, then renamed over it.
/// </summary>
public sealed class LocalEndpoint : IFileEndpoint
{
    private const string PartialSuffix = ".sxpart";
    private const int CopyBuffer = 1 << 20;

    public LocalEndpoint(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    /// <summary>Where computed hashes are remembered between runs; none by default.</summary>
    public HashCache? Hashes { get; init; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TimeSpan> _precision = new(StringComparer.Ordinal);

    /// <summary>
    /// Measured once per directory: a probe file gets a time with an odd second and a fraction,
    /// and what the file system keeps of it tells its resolution. A directory that cannot be
    /// written (a read-only source) or does not exist yet counts as exact.
    /// </summary>
    public Task<TimeSpan> ModifiedPrecisionAsync(string directory, CancellationToken cancellationToken) =>
        Task.FromResult(_precision.GetOrAdd(Full(directory), Probe));

    private static TimeSpan Probe(string directory)
    {
        var probe = Path.Combine(directory, ".sxfer-sync-probe-" + Guid.NewGuid().ToString("N"));
        var asked = new DateTime(2001, 2, 3, 4, 5, 7, DateTimeKind.Utc).AddTicks(1234567);
        try
        {
            using (File.Open(probe, FileMode.CreateNew, FileAccess.Write))
            {
            }

            File.SetLastWriteTimeUtc(probe, asked);
            var kept = File.GetLastWriteTimeUtc(probe);
            return kept == asked ? TimeSpan.FromTicks(1)
                : kept.Second == asked.Second ? TimeSpan.FromSeconds(1)
                : TimeSpan.FromSeconds(2);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return TimeSpan.FromTicks(1);
        }
        finally
        {
            try
            {
                File.Delete(probe);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Nothing was created.
            }
        }
    }

    /// <summary>Any name a directory entry can have here: at most 255 bytes, no '/' or NUL.</summary>
    public bool AcceptsName(string name) =>
        EndpointPaths.IsUsableName(name) && System.Text.Encoding.UTF8.GetByteCount(name) <= 255;

    /// <summary>The local path of a relative endpoint path.</summary>
    public string Full(string path) => path.Length == 0 ? Root : Path.Combine(Root, path);

    public string Describe(string path) => Full(path);

    public Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        var full = Full(path);
        EndpointEntry? entry = Directory.Exists(full) ? new EndpointEntry(Path.GetFileName(full), EntryKind.Directory, 0, Directory.GetLastWriteTimeUtc(full))
            : File.Exists(full) ? Describe(new FileInfo(full), follow: true)
            : null;
        return Task.FromResult(entry);
    }

    public Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken)
    {
        var entries = new DirectoryInfo(Full(path)).EnumerateFileSystemInfos().Select(info => Describe(info, follow: false)).ToList();
        return Task.FromResult<IReadOnlyList<EndpointEntry>>(entries);
    }

    /// <summary>
    /// A listing entry. A link to a file reads as that file; a link to a directory is never
    /// entered (a tree could loop, or lead a write out of the synced directory), and like
    /// dangling links, FIFOs, sockets and devices it is <see cref="EntryKind.Other"/>.
    /// </summary>
    private static EndpointEntry Describe(FileSystemInfo info, bool follow)
    {
        var name = info.Name;
        if (info.LinkTarget is not null && !(follow && info is DirectoryInfo))
        {
            if (info is DirectoryInfo || info.ResolveLinkTarget(returnFinalTarget: true) is not FileInfo { Exists: true } target)
            {
                return new EndpointEntry(name, EntryKind.Other, 0, info.LastWriteTimeUtc);
            }

            info = target;
        }

        return info switch
        {
            DirectoryInfo directory => new EndpointEntry(name, EntryKind.Directory, 0, directory.LastWriteTimeUtc),
            FileInfo file when FileKind.IsRegularFile(file.FullName) => new EndpointEntry(name, EntryKind.File, file.Length, file.LastWriteTimeUtc),
            _ => new EndpointEntry(name, EntryKind.Other, 0, info.LastWriteTimeUtc),
        };
    }

    public Task MkdirAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Full(path));
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        var full = Full(path);
        if (Directory.Exists(full) && new DirectoryInfo(full).LinkTarget is null)
        {
            Directory.Delete(full, recursive: false);
        }
        else
        {
            File.Delete(full);
        }

        return Task.CompletedTask;
    }

    public Task RenameAsync(string from, string to, CancellationToken cancellationToken)
    {
        var source = Full(from);
        var target = Full(to);
        if (Path.Exists(target))
        {
            throw new IOException($"'{target}' already exists.");
        }

        if (Directory.Exists(source))
        {
            Directory.Move(source, target);
        }
        else
        {
            File.Move(source, target, overwrite: false);
        }

        return Task.CompletedTask;
    }

    public Task SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        var full = Full(path);
        if (Directory.Exists(full))
        {
            Directory.SetLastWriteTimeUtc(full, modified.UtcDateTime);
        }
        else
        {
            File.SetLastWriteTimeUtc(full, modified.UtcDateTime);
        }

        return Task.CompletedTask;
    }

    public Task<EndpointTransfer> UploadAsync(string localFile, string path, bool replace, IProgress<long>? progress, CancellationToken cancellationToken) =>
        CopyAsync(localFile, Full(path), replace, progress, cancellationToken);

    public Task<EndpointTransfer> DownloadAsync(string path, string localFile, bool replace, IProgress<long>? progress, CancellationToken cancellationToken) =>
        CopyAsync(Full(path), localFile, replace, progress, cancellationToken);

    public bool RunsConcurrently(long size) => size <= CopyBuffer;

    /// <summary>Copies through a flushed partial file that takes the source's modification time, then renames it into place.</summary>
    public static async Task<EndpointTransfer> CopyAsync(string source, string target, bool replace, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var partial = target + PartialSuffix;
        PartialDownload.RemoveLinks(partial);

        try
        {
            await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous))
            await using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                var modified = File.GetLastWriteTimeUtc(input.SafeFileHandle);
                var buffer = new byte[(int)Math.Clamp(input.Length, 1, CopyBuffer)];
                long copied = 0;
                int read;
                while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    copied += read;
                    progress?.Report(copied);
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                File.SetLastWriteTimeUtc(output.SafeFileHandle, modified);
                output.Flush(flushToDisk: true);
                File.Move(partial, target, overwrite: replace);
                return new EndpointTransfer(copied, 0, null);
            }
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    public async Task<string?> HashAsync(string path, EndpointEntry entry, CancellationToken cancellationToken)
    {
        var full = Full(path);
        using var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.SequentialScan);
        var size = RandomAccess.GetLength(handle);
        var modified = File.GetLastWriteTimeUtc(handle);
        var identified = FileKind.TryGetIdentity(full, out var inode, out var changed);
        if (identified && Hashes?.Find(full, size, modified, inode, changed) is { } known)
        {
            return known;
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await HashText.AppendRangeAsync(handle, sha, 0, size, cancellationToken).ConfigureAwait(false);
        var sha256 = HashText.ToHex(sha.GetHashAndReset());

        // Remembered only if the file did not change while it was read.
        if (identified && FileKind.TryGetIdentity(full, out var inodeAfter, out var changedAfter) && inodeAfter == inode && changedAfter == changed
            && RandomAccess.GetLength(handle) == size && File.GetLastWriteTimeUtc(handle) == modified)
        {
            Hashes?.Remember(full, size, modified, inode, changed, sha256);
        }

        return sha256;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
