namespace SecureXfer.Server.Storage;

/// <summary>
/// Copies a directory tree file by file, keeping modification times and modes. Links and special
/// files are skipped, never followed. Each file is copied through one open handle, so a file
/// replaced by a rename while the copy runs is copied whole, as one version or the other.
/// </summary>
public static class TreeCopy
{
    private const int BufferSize = 1024 * 1024;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public readonly record struct Totals(long Files, long Bytes)
    {
        public static Totals operator +(Totals a, Totals b) => new(a.Files + b.Files, a.Bytes + b.Bytes);
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (created if missing).</summary>
    public static async Task<Totals> CopyAsync(string source, string destination, CancellationToken cancellationToken, Func<string, bool>? include = null)
    {
        var totals = default(Totals);
        if (!Directory.Exists(source))
        {
            return totals;
        }

        CreatePrivate(destination);
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.LinkTarget is not null || (include is not null && !include(entry.Name)))
            {
                continue;
            }

            var target = Path.Combine(destination, entry.Name);
            if (entry is DirectoryInfo directory)
            {
                totals += await CopyAsync(directory.FullName, target, cancellationToken).ConfigureAwait(false);
                File.SetUnixFileMode(target, File.GetUnixFileMode(directory.FullName));
                Directory.SetLastWriteTimeUtc(target, directory.LastWriteTimeUtc);
            }
            else if (entry is FileInfo file && (file.Attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) == 0)
            {
                var copied = await CopyFileAsync(file.FullName, target, cancellationToken).ConfigureAwait(false);
                if (copied >= 0)
                {
                    totals += new Totals(1, copied);
                }
            }
        }

        return totals;
    }

    /// <summary>Copies one regular file; -1 when it vanished (or stopped being a regular file) before it could be opened.</summary>
    public static async Task<long> CopyFileAsync(string source, string target, CancellationToken cancellationToken)
    {
        FileStream input;
        try
        {
            input = new FileStream(source, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
                BufferSize = 0,
            });
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return -1;
        }

        await using (input.ConfigureAwait(false))
        {
            var mode = File.GetUnixFileMode(input.SafeFileHandle);
            var modified = File.GetLastWriteTimeUtc(input.SafeFileHandle);
            var output = new FileStream(target, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
                UnixCreateMode = mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
            });
            await using (output.ConfigureAwait(false))
            {
                await input.CopyToAsync(output, BufferSize, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
                File.SetLastWriteTimeUtc(output.SafeFileHandle, modified);
                return output.Length;
            }
        }
    }

    public static void CreatePrivate(string directory)
    {
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerOnly);
        }
    }
}
