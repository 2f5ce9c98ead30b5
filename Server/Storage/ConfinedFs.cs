using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SecureXfer.Server.Storage;

/// <summary>
/// Linux <c>openat2(2)</c>: opens a path relative to a directory descriptor with the kernel
/// refusing to follow any symbolic link and to leave that directory (RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS), in one atomic resolution. What is opened is exactly what was checked,
/// whatever is renamed or swapped in meanwhile.
/// </summary>
internal static partial class ConfinedFs
{
    private const long SysOpenat2 = 437;
    private const ulong ResolveNoMagicLinks = 0x02;
    private const ulong ResolveNoSymlinks = 0x04;
    private const ulong ResolveBeneath = 0x08;
    private const ulong OCloexec = 0x80000;
    private const ulong OPath = 0x200000;
    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int Eloop = 40;
    private const int Exdev = 18;

    private static readonly ulong ODirectory = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000UL : 0x10000UL;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long Openat2(long number, int directory, string path, ref OpenHow how, nuint size);

    /// <summary>The outcome of a confined open: a handle, or why there is none.</summary>
    internal enum Outcome
    {
        Opened,
        Missing,
        Link,
    }

    /// <summary>Opens a directory (O_PATH: for resolving below it, not for reading) beneath <paramref name="directory"/>.</summary>
    internal static Outcome OpenDirectory(SafeFileHandle directory, string relative, out SafeFileHandle? handle) =>
        Open(directory, relative, OPath | ODirectory | OCloexec, out handle);

    /// <summary>Opens a file beneath <paramref name="directory"/> for reading (O_RDONLY) or writing (O_WRONLY), never through a link.</summary>
    internal static Outcome OpenFile(SafeFileHandle directory, string relative, bool write, out SafeFileHandle? handle) =>
        Open(directory, relative, (write ? 1UL : 0UL) | OCloexec, out handle);

    /// <summary>An absolute directory the operator configured (the data directory): opened plainly, as the trust anchor.</summary>
    internal static SafeFileHandle OpenAnchor(string path)
    {
        var how = new OpenHow { Flags = OPath | ODirectory | OCloexec };
        var fd = Openat2(SysOpenat2, -100, path, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0)
        {
            throw new IOException($"Cannot open the directory '{path}' (errno {Marshal.GetLastPInvokeError()}).");
        }

        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    /// <summary>A path that names what <paramref name="handle"/> refers to, for calls that take paths.</summary>
    internal static string PathOf(SafeFileHandle handle) => "/proc/self/fd/" + handle.DangerousGetHandle().ToInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static Outcome Open(SafeFileHandle directory, string relative, ulong flags, out SafeFileHandle? handle)
    {
        handle = null;
        var how = new OpenHow { Flags = flags, Resolve = ResolveBeneath | ResolveNoSymlinks | ResolveNoMagicLinks };
        var added = false;
        try
        {
            directory.DangerousAddRef(ref added);
            var fd = Openat2(SysOpenat2, (int)directory.DangerousGetHandle(), relative, ref how, (nuint)Marshal.SizeOf<OpenHow>());
            if (fd >= 0)
            {
                handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
                return Outcome.Opened;
            }

            return Marshal.GetLastPInvokeError() switch
            {
                Enoent or Enotdir => Outcome.Missing,
                Eloop or Exdev => Outcome.Link,
                var errno => throw new IOException($"Cannot open '{relative}' (errno {errno})."),
            };
        }
        finally
        {
            if (added)
            {
                directory.DangerousRelease();
            }
        }
    }
}
