using System.Security.Cryptography;
using System.Text;

namespace SecureXfer.Cli.Sync;

/// <summary>
/// Keeps two sxfer processes from syncing the same pair of directories at once: an exclusive
/// lock on a file in the config directory, named after the pair. The kernel drops the lock
/// when the holder exits, however it exits.
/// </summary>
internal sealed class SyncLock : IDisposable
{
    private readonly FileStream _held;

    private SyncLock(FileStream held) => _held = held;

    /// <summary>The lock, or null when another process holds it.</summary>
    public static SyncLock? TryTake(string configDirectory, string pair)
    {
        var directory = Path.Combine(configDirectory, "locks");
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var name = "sync-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pair)))[..20] + ".lock";
        try
        {
            return new SyncLock(new FileStream(Path.Combine(directory, name), new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _held.Dispose();
}
