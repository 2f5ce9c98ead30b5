using System.Runtime.InteropServices;

namespace SecureXfer.Server.Storage;

/// <summary>Makes renames durable: after a rename, the directory entry itself is flushed.</summary>
internal static partial class Durability
{
    private const int ReadOnly = 0;

    public static void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, ReadOnly | DirectoryFlag);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Flushes <paramref name="directory"/> and each directory above it up to <paramref name="root"/>,
    /// so directories a commit created are durable along with the file in them. Directories in
    /// <paramref name="done"/> (shared across one batch) are not flushed twice.
    /// </summary>
    public static void FlushUpTo(string root, string directory, HashSet<string>? done = null)
    {
        for (var current = directory; current.Length >= root.Length && (done?.Add(current) ?? true); current = Path.GetDirectoryName(current)!)
        {
            FlushDirectory(current);
            if (current.Length == root.Length)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Makes every file in <paramref name="files"/> durable. On Linux one syncfs of the file system
    /// holding <paramref name="directory"/> covers them all (and whatever else is dirty there);
    /// elsewhere each file is flushed on its own.
    /// </summary>
    public static void FlushFileSystem(string directory, IEnumerable<string> files)
    {
        if (OperatingSystem.IsLinux())
        {
            var fd = Open(directory, ReadOnly | DirectoryFlag);
            if (fd >= 0)
            {
                try
                {
                    if (SyncFs(fd) == 0)
                    {
                        return;
                    }
                }
                finally
                {
                    _ = Close(fd);
                }
            }
        }

        foreach (var file in files)
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.FlushToDisk(handle);
        }
    }

    /// <summary>O_DIRECTORY differs between architectures.</summary>
    private static int DirectoryFlag => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is System.Runtime.InteropServices.Architecture.Arm64 or System.Runtime.InteropServices.Architecture.Arm ? 0x4000 : 0x10000;

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
