using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SecureXfer.Shared.Endpoints.Sftp;

/// <summary>
/// The parts of libssh 0.10 (<c>libssh.so.4</c>, Debian package <c>libssh-4</c>) the SFTP
/// adapter uses, declared from its public headers. Every pointer that needs freeing lives in a
/// SafeHandle; children (SFTP session, files, directories) keep their parent alive.
/// </summary>
internal static partial class LibSsh
{
    private const string Library = "libssh.so.4";

    public const int Ok = 0;
    public const int AuthSuccess = 0;

    // enum ssh_options_e
    public const int OptionHost = 0;
    public const int OptionPort = 1;
    public const int OptionUser = 4;
    public const int OptionKnownHosts = 8;
    public const int OptionTimeout = 9;
    public const int OptionStrictHostKeyCheck = 21;
    public const int OptionGlobalKnownHosts = 35;
    public const int OptionNoDelay = 36;
    public const int OptionProcessConfig = 38;

    // enum ssh_known_hosts_e
    public const int KnownHostsOk = 1;
    public const int KnownHostsChanged = 2;
    public const int KnownHostsOther = 3;

    public const int PublicKeyHashSha256 = 2;

    // SSH_FILEXFER_TYPE_*
    public const byte TypeRegular = 1;
    public const byte TypeDirectory = 2;

    // SSH_FX_*
    public const int NoSuchFile = 2;
    public const int PermissionDenied = 3;
    public const int Failure = 4;
    public const int NoConnection = 6;
    public const int ConnectionLost = 7;
    public const int NoSuchPath = 10;
    public const int FileAlreadyExists = 11;

    // POSIX open flags, as sftp_open takes them.
    public const int ReadOnly = 0;

    /// <summary>struct sftp_attributes_struct of libssh 0.10, field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Attributes
    {
        public IntPtr Name;
        public IntPtr LongName;
        public uint Flags;
        public byte Type;
        public ulong Size;
        public uint Uid;
        public uint Gid;
        public IntPtr Owner;
        public IntPtr Group;
        public uint Permissions;
        public ulong AccessTime64;
        public uint AccessTime;
        public uint AccessTimeNanoseconds;
        public ulong CreateTime;
        public uint CreateTimeNanoseconds;
        public ulong ModifyTime64;
        public uint ModifyTime;
        public uint ModifyTimeNanoseconds;
    }

    /// <summary>struct timeval on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeValue
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport(Library, EntryPoint = "ssh_new")]
    public static partial SessionHandle New();

    [LibraryImport(Library, EntryPoint = "ssh_free")]
    public static partial void Free(IntPtr session);

    [LibraryImport(Library, EntryPoint = "ssh_options_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetOption(SessionHandle session, int option, string value);

    [LibraryImport(Library, EntryPoint = "ssh_options_set")]
    public static unsafe partial int SetOption(SessionHandle session, int option, void* value);

    [LibraryImport(Library, EntryPoint = "ssh_connect")]
    public static partial int Connect(SessionHandle session);

    [LibraryImport(Library, EntryPoint = "ssh_disconnect")]
    public static partial void Disconnect(IntPtr session);

    [LibraryImport(Library, EntryPoint = "ssh_is_connected")]
    public static partial int IsConnected(SessionHandle session);

    [LibraryImport(Library, EntryPoint = "ssh_get_error")]
    public static partial IntPtr GetError(SessionHandle session);

    [LibraryImport(Library, EntryPoint = "ssh_get_server_publickey")]
    public static partial int GetServerPublicKey(SessionHandle session, out KeyHandle key);

    [LibraryImport(Library, EntryPoint = "ssh_get_publickey_hash")]
    public static partial int GetPublicKeyHash(KeyHandle key, int type, out IntPtr hash, out nuint length);

    [LibraryImport(Library, EntryPoint = "ssh_clean_pubkey_hash")]
    public static partial void CleanPublicKeyHash(ref IntPtr hash);

    [LibraryImport(Library, EntryPoint = "ssh_key_free")]
    public static partial void KeyFree(IntPtr key);

    [LibraryImport(Library, EntryPoint = "ssh_session_is_known_server")]
    public static partial int IsKnownServer(SessionHandle session);

    [LibraryImport(Library, EntryPoint = "ssh_pki_import_privkey_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ImportPrivateKeyFile(string file, string? passphrase, IntPtr callback, IntPtr data, out KeyHandle key);

    [LibraryImport(Library, EntryPoint = "ssh_pki_import_privkey_base64", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ImportPrivateKey(string key, string? passphrase, IntPtr callback, IntPtr data, out KeyHandle result);

    [LibraryImport(Library, EntryPoint = "ssh_userauth_publickey")]
    public static partial int AuthenticateWithKey(SessionHandle session, IntPtr user, KeyHandle key);

    [LibraryImport(Library, EntryPoint = "ssh_userauth_password", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int AuthenticateWithPassword(SessionHandle session, IntPtr user, string password);

    [LibraryImport(Library, EntryPoint = "ssh_channel_new")]
    public static partial IntPtr ChannelNew(SessionHandle session);

    [LibraryImport(Library, EntryPoint = "ssh_channel_free")]
    public static partial void ChannelFree(IntPtr channel);

    [LibraryImport(Library, EntryPoint = "ssh_channel_close")]
    public static partial int ChannelClose(IntPtr channel);

    [LibraryImport(Library, EntryPoint = "ssh_channel_open_session")]
    public static partial int ChannelOpenSession(ChannelHandle channel);

    [LibraryImport(Library, EntryPoint = "ssh_channel_request_subsystem", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ChannelRequestSubsystem(ChannelHandle channel, string subsystem);

    [LibraryImport(Library, EntryPoint = "ssh_channel_write")]
    public static unsafe partial int ChannelWrite(ChannelHandle channel, byte* data, uint length);

    [LibraryImport(Library, EntryPoint = "ssh_channel_read_timeout")]
    public static unsafe partial int ChannelRead(ChannelHandle channel, byte* destination, uint count, int isStderr, int timeoutMs);

    [LibraryImport(Library, EntryPoint = "sftp_new")]
    public static partial IntPtr SftpNew(SessionHandle session);

    [LibraryImport(Library, EntryPoint = "sftp_free")]
    public static partial void SftpFree(IntPtr sftp);

    [LibraryImport(Library, EntryPoint = "sftp_init")]
    public static partial int SftpInit(SftpHandle sftp);

    [LibraryImport(Library, EntryPoint = "sftp_get_error")]
    public static partial int SftpGetError(SftpHandle sftp);

    [LibraryImport(Library, EntryPoint = "sftp_extension_supported", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SftpExtensionSupported(SftpHandle sftp, string name, string data);

    [LibraryImport(Library, EntryPoint = "sftp_stat", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr SftpStat(SftpHandle sftp, string path);

    [LibraryImport(Library, EntryPoint = "sftp_lstat", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr SftpLstat(SftpHandle sftp, string path);

    [LibraryImport(Library, EntryPoint = "sftp_attributes_free")]
    public static partial void SftpAttributesFree(IntPtr attributes);

    [LibraryImport(Library, EntryPoint = "sftp_opendir", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr SftpOpenDirectory(SftpHandle sftp, string path);

    [LibraryImport(Library, EntryPoint = "sftp_readdir")]
    public static partial IntPtr SftpReadDirectory(SftpHandle sftp, IntPtr directory);

    [LibraryImport(Library, EntryPoint = "sftp_dir_eof")]
    public static partial int SftpDirectoryEnd(IntPtr directory);

    [LibraryImport(Library, EntryPoint = "sftp_closedir")]
    public static partial int SftpCloseDirectory(IntPtr directory);

    [LibraryImport(Library, EntryPoint = "sftp_mkdir", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SftpMkdir(SftpHandle sftp, string path, uint mode);

    [LibraryImport(Library, EntryPoint = "sftp_rmdir", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SftpRmdir(SftpHandle sftp, string path);

    [LibraryImport(Library, EntryPoint = "sftp_unlink", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SftpUnlink(SftpHandle sftp, string path);

    [LibraryImport(Library, EntryPoint = "sftp_rename", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SftpRename(SftpHandle sftp, string from, string to);

    [LibraryImport(Library, EntryPoint = "sftp_utimes", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int SftpSetTimes(SftpHandle sftp, string path, TimeValue* times);

    [LibraryImport(Library, EntryPoint = "sftp_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr SftpOpen(SftpHandle sftp, string path, int access, uint mode);

    [LibraryImport(Library, EntryPoint = "sftp_close")]
    public static partial int SftpClose(IntPtr file);

    [LibraryImport(Library, EntryPoint = "sftp_seek64")]
    public static partial int SftpSeek(FileHandle file, ulong offset);

    [LibraryImport(Library, EntryPoint = "sftp_async_read_begin")]
    public static partial int SftpAsyncReadBegin(FileHandle file, uint length);

    [LibraryImport(Library, EntryPoint = "sftp_async_read")]
    public static unsafe partial int SftpAsyncRead(FileHandle file, byte* buffer, uint length, uint id);

    public static string ErrorOf(SessionHandle session) => Marshal.PtrToStringUTF8(GetError(session)) ?? "unknown error";

    /// <summary>An ssh_session: disconnected and freed on release.</summary>
    public sealed class SessionHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
    {
        protected override bool ReleaseHandle()
        {
            Disconnect(handle);
            Free(handle);
            return true;
        }
    }

    /// <summary>An ssh_key.</summary>
    public sealed class KeyHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
    {
        protected override bool ReleaseHandle()
        {
            KeyFree(handle);
            return true;
        }
    }

    /// <summary>A handle that keeps its parent handle alive until it is released itself.</summary>
    public abstract class ChildHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private SafeHandle? _parent;

        protected ChildHandle()
            : base(ownsHandle: true)
        {
        }

        /// <summary>A handle of type <typeparamref name="T"/> for what libssh returned, holding <paramref name="parent"/>; null when libssh returned nothing.</summary>
        protected static T? Wrap<T>(IntPtr value, SafeHandle parent)
            where T : ChildHandle, new()
        {
            if (value == IntPtr.Zero)
            {
                return null;
            }

            var handle = new T();
            var added = false;
            parent.DangerousAddRef(ref added);
            handle._parent = parent;
            handle.SetHandle(value);
            return handle;
        }

        protected abstract void Free();

        protected override bool ReleaseHandle()
        {
            Free();
            _parent?.DangerousRelease();
            return true;
        }
    }

    /// <summary>An sftp_session over an ssh_session.</summary>
    public sealed class SftpHandle : ChildHandle
    {
        public static SftpHandle? Create(SessionHandle session) =>
            Wrap<SftpHandle>(SftpNew(session), session);

        protected override void Free() => SftpFree(handle);
    }

    /// <summary>An ssh_channel of its own (closed and freed on release).</summary>
    public sealed class ChannelHandle : ChildHandle
    {
        public static ChannelHandle? Create(SessionHandle session) =>
            Wrap<ChannelHandle>(ChannelNew(session), session);

        protected override void Free()
        {
            ChannelClose(handle);
            ChannelFree(handle);
        }
    }

    /// <summary>An sftp_file.</summary>
    public sealed class FileHandle : ChildHandle
    {
        public static FileHandle? Open(SftpHandle sftp, string path, int access, uint mode) =>
            Wrap<FileHandle>(SftpOpen(sftp, path, access, mode), sftp);

        protected override void Free() => SftpClose(handle);
    }

    /// <summary>An sftp_dir.</summary>
    public sealed class DirectoryHandle : ChildHandle
    {
        public static DirectoryHandle? Open(SftpHandle sftp, string path) =>
            Wrap<DirectoryHandle>(SftpOpenDirectory(sftp, path), sftp);

        protected override void Free() => SftpCloseDirectory(handle);
    }
}
