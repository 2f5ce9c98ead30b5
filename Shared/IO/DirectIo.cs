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
    /// Whether every page of the range is in the page cache (mincore on a temporary mapping; it
    /// starts no I/O and no readahead). When the kernel cannot say, the answer is yes, so the
    /// caller reads through the cache as usual.
    /// </summary>
    public static unsafe bool IsCached(SafeFileHandle handle, long offset, int length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return true;
        }

        var page = Environment.SystemPageSize;
        var start = offset & ~(long)(page - 1);
        var span = (nuint)(offset + length - start);
        var pages = (int)((span + (nuint)page - 1) / (nuint)page);
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var address = MemoryMap(null, span, ProtectRead, MapShared, (int)handle.DangerousGetHandle(), start);
            if (address == MapFailed)
            {
                return true;
            }

            try
            {
                var vector = pages <= 1024 ? stackalloc byte[pages] : new byte[pages];
                fixed (byte* residency = vector)
                {
                    if (MemoryResidency(address, span, residency) != 0)
                    {
                        return true;
                    }
                }

                foreach (var flags in vector)
                {
                    if ((flags & 1) == 0)
                    {
                        return false;
                    }
                }

                return true;
            }
            finally
            {
                _ = MemoryUnmap(address, span);
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

    private const int ProtectRead = 1;
    private const int MapShared = 1;
    private static readonly unsafe void* MapFailed = (void*)-1;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static unsafe partial void* MemoryMap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mincore")]
    private static unsafe partial int MemoryResidency(void* address, nuint length, byte* vector);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static unsafe partial int MemoryUnmap(void* address, nuint length);
}
