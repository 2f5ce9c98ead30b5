using System.Security.Cryptography;
using System.Text;

namespace SecureXfer.Cli.Sync;

/// <summary>
/// Keeps sxfer runs that would fight apart: an exclusive lock on a file in the config directory
/// named after the destination, and a check that nobody writes into the source. The kernel
/// drops a lock when its holder exits, however it exits.
/// </summary>
internal sealed class SyncLock : IDisposable
{
    private readonly FileStream _held;

    private SyncLock(FileStream held) => _held = held;

    /// <summary>
    /// The lock on <paramref name="destination"/>, held for the run; null when another run writes
    /// there, or writes into <paramref name="source"/> (checked by taking its lock for a moment):
    /// A to B beside B to A, or two sources into one destination, would undo each other.
    /// </summary>
    public static SyncLock? TryTake(string configDirectory, string destination, string source)
    {
        var held = Open(configDirectory, destination);
        if (held is null)
        {
            return null;
        }

        using var probe = Open(configDirectory, source);
        if (probe is null)
        {
            held.Dispose();
            return null;
        }

        return new SyncLock(held);
    }

    private static FileStream? Open(string configDirectory, string side)
    {
        var directory = Path.Combine(configDirectory, "locks");
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var name = "sync-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(side)))[..20] + ".lock";
        try
        {
            return new FileStream(Path.Combine(directory, name), new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _held.Dispose();
}
