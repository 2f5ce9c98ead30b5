using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SecureXfer.Shared.IO;

/// <summary>
/// Unbuffered (O_DIRECT) access to a file for bulk transfer data, on Linux. Large transfers are
/// made durable before they are acknowledged, so copying them through the page cache first only
/// doubles the work: direct writes go from an aligned buffer to the device, and an fsync at the end
/// has little left to flush. Offsets, lengths and buffer addresses must be multiples of
/// <see cref="Alignment"/>; anything else goes through an ordinary handle.
/// </summary>
public static partial class DirectIo
{
    /// <summary>Covers the logical block size of every common device (512 or 4096 bytes).</summary>
    public const int Alignment = 4096;

    private const int ReadOnly = 0;
    private const int ReadWrite = 2;
    private const int CloseOnExec = 0x80000;
    private const int NoWait = 0x8; // RWF_NOWAIT
    private const int TryAgain = 11; // EAGAIN
    private const int NotSupported = 95; // EOPNOTSUPP

    private static int _noWaitUnsupported;

    public static bool IsAligned(long offset, long length) => ((offset | length) & (Alignment - 1)) == 0;

    public static long RoundUp(long value) => (value + Alignment - 1) & ~(long)(Alignment - 1);

    /// <summary>
    /// A second, unbuffered handle on the file <paramref name="handle"/> has open (reopened through
    /// /proc, so it is the same file even if its path changed), or null where the platform or file
    /// system does not offer one.
    /// </summary>
    public static SafeFileHandle? TryReopen(SafeFileHandle handle, bool writable)
    {
        if (!OperatingSystem.IsLinux() || handle.IsInvalid || handle.IsClosed)
        {
            return null;
        }

        var fd = Open($"/proc/self/fd/{handle.DangerousGetHandle()}", (writable ? ReadWrite : ReadOnly) | CloseOnExec | DirectFlag);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>True when <paramref name="memory"/> starts on an alignment boundary and spans whole blocks.</summary>
    public static unsafe bool IsAligned(Memory<byte> memory)
    {
        using var pin = memory.Pin();
        return ((nuint)pin.Pointer & (Alignment - 1)) == 0 && (memory.Length & (Alignment - 1)) == 0;
    }

    /// <summary>
    /// Reads from the page cache only: returns the bytes read, or -1 when they are not cached (or
    /// the kernel cannot tell), in which case the caller reads them unbuffered instead of pulling
    /// them through the cache.
    /// </summary>
    public static unsafe int ReadIfCached(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref _noWaitUnsupported) != 0)
        {
            return -1;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            fixed (byte* start = buffer)
            {
                var vector = new IoVector { Base = start, Length = (nuint)buffer.Length };
                var read = PreadV2((int)handle.DangerousGetHandle(), &vector, 1, offset, NoWait);
                if (read >= 0)
                {
                    return (int)read;
                }

                var error = Marshal.GetLastPInvokeError();
                if (error is not TryAgain)
                {
                    // An old kernel or a file system without RWF_NOWAIT: stop asking.
                    if (error is NotSupported or 22 /* EINVAL */ or 38 /* ENOSYS */)
                    {
                        Volatile.Write(ref _noWaitUnsupported, 1);
                    }
                }

                return -1;
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>O_DIRECT differs between architectures.</summary>
    private static int DirectFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "preadv2", SetLastError = true)]
    private static unsafe partial nint PreadV2(int fd, IoVector* vectors, int count, long offset, int flags);
}
