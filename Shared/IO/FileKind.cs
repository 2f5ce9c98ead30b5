using System.Runtime.InteropServices;

namespace SecureXfer.Shared.IO;

/// <summary>
/// Tells regular files from FIFOs, sockets and devices, which .NET reports alike and which a
/// copy must never open (a FIFO would block the reader forever). Uses statx, whose layout is
/// the same on every Linux architecture.
/// </summary>
public static partial class FileKind
{
    private const int StatxType = 0x1;
    private const int AtFdCwd = -100;
    private const ushort TypeMask = 0xF000;
    private const ushort Regular = 0x8000;

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

        // stx_mode is the 16-bit field at offset 28.
        var mode = *(ushort*)(buffer + 28);
        return (mode & TypeMask) == Regular;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* result);
}
