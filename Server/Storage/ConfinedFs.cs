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
    private const nint SysOpenat2 = 437;
    private const ulong ResolveNoMagicLinks = 0x02;
    private const ulong ResolveNoSymlinks = 0x04;
    private const ulong ResolveBeneath = 0x08;
    private const ulong OCloexec = 0x80000;
    private const ulong OPath = 0x200000;
    private const ulong ONonblock = 0x800;
    private const int AtRemoveDir = 0x200;
    private const int Eisdir = 21;
    private const int Enosys = 38;
    private const int Enotempty = 39;
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
    private static partial nint Openat2(nint number, int directory, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAt(int directory, string path, int flags);

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

    /// <summary>
    /// Opens a regular file beneath <paramref name="directory"/> for reading (O_RDONLY) or writing
    /// (O_WRONLY), never through a link. Non-blocking, so a FIFO cannot hold the thread; anything
    /// but a regular file is closed again and reported missing.
    /// </summary>
    internal static Outcome OpenFile(SafeFileHandle directory, string relative, bool write, out SafeFileHandle? handle)
    {
        var outcome = Open(directory, relative, (write ? 1UL : 0UL) | ONonblock | OCloexec, out handle);
        if (outcome == Outcome.Opened && !SecureXfer.Shared.IO.FileKind.IsRegularFile(PathOf(handle!)))
        {
            handle!.Dispose();
            handle = null;
            return Outcome.Missing;
        }

        return outcome;
    }

    /// <summary>Opens a directory beneath <paramref name="directory"/> for reading its metadata and setting its times (O_RDONLY | O_DIRECTORY).</summary>
    internal static Outcome OpenDirectoryForTimes(SafeFileHandle directory, string relative, out SafeFileHandle? handle) =>
        Open(directory, relative, ODirectory | ONonblock | OCloexec, out handle);

    /// <summary>
    /// Deletes <paramref name="name"/> in <paramref name="directory"/> and, when it is a directory,
    /// everything below it, through handles all the way down: each directory is opened without
    /// following links before it is listed, entries are removed relative to it, and a link is
    /// removed itself, never entered, whenever it was swapped in.
    /// </summary>
    internal static void DeleteTree(SafeFileHandle directory, string name)
    {
        var added = false;
        try
        {
            directory.DangerousAddRef(ref added);
            var fd = (int)directory.DangerousGetHandle();
            switch (Open(directory, name, OPath | ODirectory | OCloexec, out var child))
            {
                case Outcome.Opened:
                    using (child)
                    {
                        // The listing is of the directory the handle holds, wherever it has been moved meanwhile.
                        foreach (var entry in Directory.GetFileSystemEntries(PathOf(child!)))
                        {
                            DeleteTree(child!, System.IO.Path.GetFileName(entry));
                        }
                    }

                    Unlink(fd, name, AtRemoveDir);
                    break;
                default:
                    // Not a directory (or a link to one): the entry itself goes.
                    if (UnlinkAt(fd, name, 0) != 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == Eisdir)
                        {
                            // It became a directory meanwhile: take it down as one.
                            DeleteTree(directory, name);
                        }
                        else if (errno != Enoent)
                        {
                            throw new IOException($"Cannot delete '{name}' (errno {errno}).");
                        }
                    }

                    break;
            }
        }
        finally
        {
            if (added)
            {
                directory.DangerousRelease();
            }
        }
    }

    /// <summary>Fails the start-up clearly where the kernel lacks openat2 (Linux before 5.6, or a sandbox that forbids it).</summary>
    internal static void EnsureSupported(string directory)
    {
        var how = new OpenHow { Flags = OPath | ODirectory | OCloexec, Resolve = ResolveNoSymlinks };
        var fd = Openat2(SysOpenat2, -100, directory, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0 && Marshal.GetLastPInvokeError() is Enosys or 1)
        {
            throw new PlatformNotSupportedException("SecureXfer needs the openat2 system call (Linux 5.6 or later, not blocked by a seccomp profile) to confine user paths.");
        }

        if (fd >= 0)
        {
            new SafeFileHandle(fd, ownsHandle: true).Dispose();
        }
    }

    private static void Unlink(int directory, string name, int flags)
    {
        if (UnlinkAt(directory, name, flags) != 0 && Marshal.GetLastPInvokeError() is var errno and not Enoent)
        {
            throw errno is Enotdir or Enotempty
                ? new SecureXfer.Shared.Protocol.SxpException(SecureXfer.Shared.Protocol.ErrorCode.Conflict, $"'{name}' changed while it was being removed; nothing outside it was touched.")
                : new IOException($"Cannot delete '{name}' (errno {errno}).");
        }
    }

    /// <summary>An absolute directory the operator configured (the data directory): opened plainly, as the trust anchor.</summary>
    internal static SafeFileHandle OpenAnchor(string path)
    {
        var how = new OpenHow { Flags = OPath | ODirectory | OCloexec };
        var fd = Openat2(SysOpenat2, -100, path, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0)
        {
            throw new IOException($"Cannot open the directory '{path}' (errno {Marshal.GetLastPInvokeError()}).");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
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
                handle = new SafeFileHandle(fd, ownsHandle: true);
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
