using System.Runtime.InteropServices;

namespace SecureXfer.Shared.IO;

/// <summary>
/// What .NET does not tell about a file: whether it is a regular file at all (FIFOs, sockets
/// and devices look alike to it, and a copy must never open a FIFO: the read would block
/// forever), and its inode and change time (ctime, which no tool can set back). Uses statx,
/// whose layout is the same on every Linux architecture.
/// </summary>
public static partial class FileKind
{
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const uint StatxCtime = 0x80;
    private const int AtFdCwd = -100;
    private const ushort TypeMask = 0xF000;
    private const ushort Regular = 0x8000;

    // Offsets in struct statx.
    private const int ModeOffset = 0x1C;
    private const int InodeOffset = 0x20;
    private const int ChangeSecondsOffset = 0x60;
    private const int ChangeNanosecondsOffset = 0x68;

    /// <summary>True for a regular file (following links). Where statx is unavailable, anything .NET calls a file counts.</summary>
    public static unsafe bool IsRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return File.Exists(path);
        }

        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0)
        {
            return false;
        }

        return (*(ushort*)(buffer + ModeOffset) & TypeMask) == Regular;
    }

    /// <summary>
    /// The inode and change time of a file (following links), which together with size and
    /// modification time tell whether its content may have changed. False where unavailable.
    /// </summary>
    public static unsafe bool TryGetIdentity(string path, out ulong inode, out long changeTicks)
    {
        inode = 0;
        changeTicks = 0;
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxIno | StatxCtime, buffer) != 0)
        {
            return false;
        }

        inode = *(ulong*)(buffer + InodeOffset);
        var seconds = *(long*)(buffer + ChangeSecondsOffset);
        var nanoseconds = *(uint*)(buffer + ChangeNanosecondsOffset);
        changeTicks = (seconds * TimeSpan.TicksPerSecond) + (nanoseconds / 100);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* result);
}
