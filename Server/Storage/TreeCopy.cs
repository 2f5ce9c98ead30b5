using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Hashing;

namespace SecureXfer.Server.Storage;

/// <summary>
/// Copies a directory tree file by file, keeping modification times and modes, and hashing what
/// it copies. Every file is opened beneath the source root without following any link, and only
/// if it is a regular file (a link or FIFO swapped in is skipped, never followed or waited on).
/// Each file is copied through one open handle, so one replaced by a rename while the copy runs is
/// copied whole, as one version or the other, and its hash is the hash of the bytes copied.
/// A file that cannot be read fails the copy: nothing is silently left out.
/// </summary>
public static class TreeCopy
{
    private const int BufferSize = 1024 * 1024;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode CopiedModes = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>One copied file: its path below the source root ('/'-separated), size, SHA-256 (hex) and modification time.</summary>
    public readonly record struct CopiedFile(string Relative, long Size, string Sha256, DateTime ModifiedUtc);

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/> (created private if
    /// missing); <paramref name="include"/> picks the top-level entries. Returns every file copied.
    /// </summary>
    public static async Task<List<CopiedFile>> CopyAsync(string source, string destination, CancellationToken cancellationToken, Func<string, bool>? include = null)
    {
        var copied = new List<CopiedFile>();
        if (!Directory.Exists(source))
        {
            return copied;
        }

        using var anchor = ConfinedFs.OpenAnchor(Path.GetFullPath(source));
        await CopyDirectoryAsync(anchor, Path.GetFullPath(source), string.Empty, destination, include, copied, cancellationToken).ConfigureAwait(false);
        return copied;
    }

    /// <summary>Copies one file by path (its directory is the anchor); null when there is no regular file there.</summary>
    public static async Task<CopiedFile?> CopyFileAsync(string source, string target, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(source);
        using var anchor = ConfinedFs.OpenAnchor(Path.GetDirectoryName(full)!);
        return await CopyFileAsync(anchor, Path.GetFileName(full), target, cancellationToken).ConfigureAwait(false);
    }

    public static void CreatePrivate(string directory)
    {
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerOnly);
        }

        File.SetUnixFileMode(directory, OwnerOnly);
    }

    /// <summary>Makes a copied tree owner-only: directories 0700, files 0600.</summary>
    public static void MakePrivate(string path)
    {
        if (Directory.Exists(path))
        {
            File.SetUnixFileMode(path, OwnerOnly);
            foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            {
                File.SetUnixFileMode(entry.FullName, entry is DirectoryInfo ? OwnerOnly : UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        else if (File.Exists(path))
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static async Task CopyDirectoryAsync(
        SafeFileHandle anchor, string root, string relativeDirectory, string destination, Func<string, bool>? include, List<CopiedFile> copied, CancellationToken cancellationToken)
    {
        CreatePrivate(destination);
        foreach (var entry in new DirectoryInfo(Path.Combine(root, relativeDirectory)).EnumerateFileSystemInfos())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.LinkTarget is not null || (include is not null && relativeDirectory.Length == 0 && !include(entry.Name)))
            {
                continue;
            }

            var relative = relativeDirectory.Length == 0 ? entry.Name : relativeDirectory + "/" + entry.Name;
            var target = Path.Combine(destination, entry.Name);
            if (entry is DirectoryInfo directory)
            {
                await CopyDirectoryAsync(anchor, root, relative, target, null, copied, cancellationToken).ConfigureAwait(false);
                File.SetUnixFileMode(target, File.GetUnixFileMode(directory.FullName) & OwnerOnly | UnixFileMode.UserExecute);
                Directory.SetLastWriteTimeUtc(target, directory.LastWriteTimeUtc);
            }
            else if (await CopyFileAsync(anchor, relative, target, cancellationToken).ConfigureAwait(false) is { } file)
            {
                copied.Add(file);
            }
        }
    }

    private static async Task<CopiedFile?> CopyFileAsync(SafeFileHandle anchor, string relative, string target, CancellationToken cancellationToken)
    {
        if (ConfinedFs.OpenFile(anchor, relative, write: false, out var handle) != ConfinedFs.Outcome.Opened)
        {
            // Gone since the listing, a link, or not a regular file.
            return null;
        }

        using (handle)
        {
            var mode = File.GetUnixFileMode(handle!);
            var modified = File.GetLastWriteTimeUtc(handle!);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                var output = new FileStream(target, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Options = FileOptions.Asynchronous,
                    BufferSize = 0,
                    UnixCreateMode = mode & CopiedModes,
                });
                await using (output.ConfigureAwait(false))
                {
                    long offset = 0;
                    int read;
                    while ((read = await RandomAccess.ReadAsync(handle!, buffer.AsMemory(0, BufferSize), offset, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        offset += read;
                    }

                    output.Flush(flushToDisk: true);
                    File.SetLastWriteTimeUtc(output.SafeFileHandle, modified);
                    return new CopiedFile(relative, offset, HashText.ToHex(hash.GetHashAndReset()), modified);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
