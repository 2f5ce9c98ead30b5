using System.Security.Cryptography;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;

namespace SecureXfer.Shared.Endpoints;

/// <summary>
/// A directory on this machine. Links to files read as the files they lead to; links to
/// directories are not followed (a listing shows them as nothing). Writes go to a partial file
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

    public TimeSpan ModifiedPrecision => TimeSpan.FromTicks(1);

    /// <summary>The local path of a relative endpoint path.</summary>
    public string Full(string path) => path.Length == 0 ? Root : Path.Combine(Root, path);

    public string Describe(string path) => Full(path);

    public Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        var full = Full(path);
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        return Task.FromResult(info.Exists ? ToEntry(info) : null);
    }

    public Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken)
    {
        var entries = new List<EndpointEntry>();
        foreach (var info in new DirectoryInfo(Full(path)).EnumerateFileSystemInfos())
        {
            if (ToEntry(info) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return Task.FromResult<IReadOnlyList<EndpointEntry>>(entries);
    }

    /// <summary>An entry, or null for what is not synced: links to directories, dangling links, sockets and devices.</summary>
    private static EndpointEntry? ToEntry(FileSystemInfo info)
    {
        var name = info.Name;
        if (info.LinkTarget is not null)
        {
            if (info is DirectoryInfo || info.ResolveLinkTarget(returnFinalTarget: true) is not FileInfo { Exists: true } target)
            {
                return null;
            }

            info = target;
        }

        return info switch
        {
            DirectoryInfo directory => new EndpointEntry(name, EntryKind.Directory, 0, directory.LastWriteTimeUtc),
            FileInfo file when FileKind.IsRegularFile(file.FullName) => new EndpointEntry(name, EntryKind.File, file.Length, file.LastWriteTimeUtc),
            _ => null,
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
            Directory.Delete(full, recursive: true);
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

    public Task<EndpointTransfer> UploadAsync(string localFile, string path, IProgress<long>? progress, CancellationToken cancellationToken) =>
        CopyAsync(localFile, Full(path), progress, cancellationToken);

    public Task<EndpointTransfer> DownloadAsync(string path, string localFile, IProgress<long>? progress, CancellationToken cancellationToken) =>
        CopyAsync(Full(path), localFile, progress, cancellationToken);

    public bool RunsConcurrently(long size) => size <= CopyBuffer;

    /// <summary>Copies through a flushed partial file that takes the source's modification time, then renames it into place.</summary>
    public static async Task<EndpointTransfer> CopyAsync(string source, string target, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var partial = target + PartialSuffix;
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
                File.Move(partial, target, overwrite: true);
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
        if (Hashes?.Find(full, size, modified) is { } known)
        {
            return known;
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await HashText.AppendRangeAsync(handle, sha, 0, size, cancellationToken).ConfigureAwait(false);
        var sha256 = HashText.ToHex(sha.GetHashAndReset());

        // Remembered only if the file did not change while it was read.
        if (RandomAccess.GetLength(handle) == size && File.GetLastWriteTimeUtc(handle) == modified)
        {
            Hashes?.Remember(full, size, modified, sha256);
        }

        return sha256;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
