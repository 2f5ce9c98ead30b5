using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SecureXfer.Shared.Security;

namespace SecureXfer.Shared.Endpoints.Sftp;

/// <summary>How to reach an SFTP server, prove who we are, and check who it is.</summary>
public sealed record SftpSettings(string Host, int Port, string User)
{
    /// <summary>A password, or the passphrase of <see cref="IdentityFile"/>.</summary>
    public string? Password { get; init; }

    /// <summary>A private key file (OpenSSH format) to log in with instead of a password.</summary>
    public string? IdentityFile { get; init; }

    /// <summary>The same as <see cref="IdentityFile"/>, as PEM text (a key kept encrypted by the server rather than in a file).</summary>
    public string? PrivateKey { get; init; }

    /// <summary>The SHA-256 fingerprint of the server's host key (SHA256:base64, as ssh-keygen -lf prints it).</summary>
    public string? HostKey { get; init; }

    /// <summary>A known_hosts file listing the server's key.</summary>
    public string? KnownHosts { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>A refusal from an SFTP server, or a failed SSH session; <see cref="Status"/> is the SSH_FX code when there is one.</summary>
public sealed class SftpException(string message, int status = 0, bool connectionLost = false) : IOException(message)
{
    public int Status { get; } = status;

    /// <summary>The session is gone (a dropped connection): transient.</summary>
    public bool ConnectionLost { get; } = connectionLost;
}

/// <summary>The server's host key was not the expected one, or is unknown; carries its fingerprint for pinning.</summary>
public sealed class UnknownHostKeyException(string message, string fingerprint) : Exception(message)
{
    public string Fingerprint { get; } = fingerprint;
}

/// <summary>
/// A directory tree on an SFTP server, through libssh. The host key is checked before any
/// credential is sent: against a pinned SHA-256 fingerprint or a known_hosts file, and refused
/// when it differs or is unknown. Uploads go to a staging name, resume after a break, get their
/// modification time and are renamed over the target when complete (and fsynced where the
/// server offers it); downloads resume from a partial file, reading with several requests in
/// flight. libssh calls block, so they run one at a time off the caller's thread.
/// </summary>
public sealed class SftpEndpoint(SftpSettings settings) : IFileEndpoint
{
    private const int ReadBlock = 64 * 1024;
    private const int ReadsInFlight = 16;
    /// <summary>More entries than this in one directory is taken for a hostile or broken server.</summary>
    public const int MaxListing = 1_000_000;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private LibSsh.SessionHandle? _session;
    private LibSsh.SftpHandle? _sftp;
    private bool _dropAfter;
    private SftpPipelinedWriter? _writer;

    public string Describe(string path) =>
        $"sftp://{settings.User}@{settings.Host}:{settings.Port}{(path.StartsWith('/') ? path : "/~/" + path)}";

    /// <summary>SFTP version 3 carries whole seconds.</summary>
    public Task<TimeSpan> ModifiedPrecisionAsync(string directory, CancellationToken cancellationToken) => Task.FromResult(TimeSpan.FromSeconds(1));

    public bool AcceptsName(string name) => EndpointPaths.IsUsableName(name) && Encoding.UTF8.GetByteCount(name) <= 255;

    public bool RunsConcurrently(long size) => false;

    public Task<string?> HashAsync(string path, EndpointEntry entry, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>A path as the server takes it: relative ones are under the login (home) directory.</summary>
    private static string Remote(string path) => path.Length == 0 ? "." : path;

    /// <summary>Runs a blocking libssh operation on a pool thread, one at a time, connecting first if needed.</summary>
    private async Task<T> RunAsync<T>(Func<LibSsh.SftpHandle, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() =>
            {
                var sftp = _sftp ?? Connect();
                try
                {
                    return work(sftp);
                }
                catch (SftpException ex) when (ex.ConnectionLost)
                {
                    Drop();
                    throw;
                }
                finally
                {
                    if (_dropAfter)
                    {
                        _dropAfter = false;
                        Drop();
                    }
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task RunAsync(Action<LibSsh.SftpHandle> work, CancellationToken cancellationToken) =>
        RunAsync(sftp =>
        {
            work(sftp);
            return true;
        }, cancellationToken);

    private void Drop()
    {
        _writer?.Dispose();
        _writer = null;
        _sftp?.Dispose();
        _session?.Dispose();
        _sftp = null;
        _session = null;
    }

    private unsafe LibSsh.SftpHandle Connect()
    {
        LibSsh.SessionHandle session;
        try
        {
            session = LibSsh.New();
        }
        catch (DllNotFoundException)
        {
            throw new SftpException("SFTP needs libssh, and libssh.so.4 was not found: install the Debian package libssh-4 (apt-get install libssh-4).");
        }

        try
        {
            // Only what is given here counts: no ~/.ssh/config, no global known_hosts.
            var no = 0;
            var yes = 1;
            var port = settings.Port;
            long seconds = Math.Max(1, (long)settings.Timeout.TotalSeconds);
            Check(session, LibSsh.SetOption(session, LibSsh.OptionProcessConfig, &no));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionHost, settings.Host));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionPort, &port));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionUser, settings.User));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionTimeout, &seconds));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionNoDelay, &yes));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionGlobalKnownHosts, "/dev/null"));
            Check(session, LibSsh.SetOption(session, LibSsh.OptionKnownHosts, settings.KnownHosts ?? "/dev/null"));
            if (LibSsh.Connect(session) != LibSsh.Ok)
            {
                throw new SftpException($"Cannot connect to {settings.Host}:{settings.Port}: {LibSsh.ErrorOf(session)}", connectionLost: true);
            }

            VerifyHostKey(session);
            Authenticate(session);
            var sftp = LibSsh.SftpHandle.Create(session) ?? throw new SftpException($"The SFTP subsystem could not start: {LibSsh.ErrorOf(session)}");
            if (LibSsh.SftpInit(sftp) != LibSsh.Ok)
            {
                sftp.Dispose();
                throw new SftpException($"The SFTP subsystem could not start: {LibSsh.ErrorOf(session)}");
            }

            _session = session;
            _sftp = sftp;
            return sftp;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static void Check(LibSsh.SessionHandle session, int result)
    {
        if (result != LibSsh.Ok)
        {
            throw new SftpException("libssh refused an option: " + LibSsh.ErrorOf(session));
        }
    }

    /// <summary>The host key against the pin or the known_hosts file, before any credential leaves this machine.</summary>
    private void VerifyHostKey(LibSsh.SessionHandle session)
    {
        var fingerprint = HostKeyFingerprint(session);
        if (settings.HostKey is not null)
        {
            byte[] pinned;
            try
            {
                pinned = CertificateFingerprint.Parse(settings.HostKey);
            }
            catch (FormatException)
            {
                throw new SftpException($"'{settings.HostKey}' is not a host-key fingerprint; use SHA256:... as ssh-keygen -lf prints it.");
            }

            if (!CryptographicOperations.FixedTimeEquals(pinned, CertificateFingerprint.Parse(fingerprint)))
            {
                throw new UnknownHostKeyException($"The host key of {settings.Host}:{settings.Port} is {fingerprint}, not the pinned {settings.HostKey}. Nothing was sent.", fingerprint);
            }

            return;
        }

        var known = settings.KnownHosts is null ? -1 : LibSsh.IsKnownServer(session);
        switch (known)
        {
            case LibSsh.KnownHostsOk:
                return;
            case LibSsh.KnownHostsChanged or LibSsh.KnownHostsOther:
                throw new UnknownHostKeyException($"The host key of {settings.Host}:{settings.Port} ({fingerprint}) does not match {settings.KnownHosts}: it changed, or someone is in between. Nothing was sent.", fingerprint);
            default:
                throw new UnknownHostKeyException($"The host key of {settings.Host}:{settings.Port} is not known: its fingerprint is {fingerprint}. If that is the server you expect, pass --host-key {fingerprint} (or list it in a known_hosts file).", fingerprint);
        }
    }

    private static string HostKeyFingerprint(LibSsh.SessionHandle session)
    {
        if (LibSsh.GetServerPublicKey(session, out var key) != LibSsh.Ok)
        {
            key.Dispose();
            throw new SftpException("The server sent no host key: " + LibSsh.ErrorOf(session));
        }

        using (key)
        {
            if (LibSsh.GetPublicKeyHash(key, LibSsh.PublicKeyHashSha256, out var hash, out var length) != LibSsh.Ok)
            {
                throw new SftpException("The host key could not be hashed.");
            }

            try
            {
                var bytes = new byte[(int)length];
                Marshal.Copy(hash, bytes, 0, bytes.Length);
                return "SHA256:" + Convert.ToBase64String(bytes).TrimEnd('=');
            }
            finally
            {
                LibSsh.CleanPublicKeyHash(ref hash);
            }
        }
    }

    private void Authenticate(LibSsh.SessionHandle session)
    {
        if (settings.PrivateKey is { } text)
        {
            if (LibSsh.ImportPrivateKey(text, settings.Password, IntPtr.Zero, IntPtr.Zero, out var stored) != LibSsh.Ok)
            {
                stored.Dispose();
                throw new SftpException("The stored private key cannot be read (a wrong or missing passphrase?).", 530);
            }

            using (stored)
            {
                if (LibSsh.AuthenticateWithKey(session, IntPtr.Zero, stored) != LibSsh.AuthSuccess)
                {
                    throw new SftpException($"The SFTP server refused the key for {settings.User}.", 530);
                }
            }

            return;
        }

        if (settings.IdentityFile is { } identity)
        {
            if (!File.Exists(identity))
            {
                throw new SftpException($"The key file {identity} does not exist.");
            }

            if (LibSsh.ImportPrivateKeyFile(identity, settings.Password, IntPtr.Zero, IntPtr.Zero, out var key) != LibSsh.Ok)
            {
                key.Dispose();
                throw new SftpException($"The key in {identity} cannot be read{(settings.Password is null ? " (if it has a passphrase, give it like a password)" : " (wrong passphrase?)")}.", 530);
            }

            using (key)
            {
                if (LibSsh.AuthenticateWithKey(session, IntPtr.Zero, key) != LibSsh.AuthSuccess)
                {
                    throw new SftpException($"The SFTP server refused the key in {identity} for {settings.User}.", 530);
                }
            }

            return;
        }

        if (settings.Password is null)
        {
            throw new SftpException($"No password or key for {settings.User}@{settings.Host}.", 530);
        }

        if (LibSsh.AuthenticateWithPassword(session, IntPtr.Zero, settings.Password) != LibSsh.AuthSuccess)
        {
            throw new SftpException($"The SFTP server refused the login for {settings.User}: wrong password, or password logins are off.", 530);
        }
    }

    /// <summary>The failure of the last SFTP call, as an exception naming what was being done.</summary>
    private SftpException Failure(LibSsh.SftpHandle sftp, string what)
    {
        var status = LibSsh.SftpGetError(sftp);
        var lost = status is LibSsh.NoConnection or LibSsh.ConnectionLost || _session is null || LibSsh.IsConnected(_session) == 0;
        var reason = status switch
        {
            LibSsh.NoSuchFile or LibSsh.NoSuchPath => "no such file or directory",
            LibSsh.PermissionDenied => "permission denied",
            LibSsh.FileAlreadyExists => "it already exists",
            LibSsh.NoConnection or LibSsh.ConnectionLost => "the connection was lost",
            _ => _session is null ? "failed" : LibSsh.ErrorOf(_session),
        };
        return new SftpException($"{what}: {reason}.", status, lost);
    }

    private static EndpointEntry? ReadAttributes(IntPtr pointer, string? name = null)
    {
        if (pointer == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            var attributes = Marshal.PtrToStructure<LibSsh.Attributes>(pointer);
            var entryName = name ?? Marshal.PtrToStringUTF8(attributes.Name) ?? string.Empty;
            var modified = DateTimeOffset.FromUnixTimeSeconds(attributes.ModifyTime64 != 0 ? (long)attributes.ModifyTime64 : attributes.ModifyTime);
            var kind = attributes.Type switch
            {
                LibSsh.TypeRegular => EntryKind.File,
                LibSsh.TypeDirectory => EntryKind.Directory,
                _ => EntryKind.Other,
            };
            return new EndpointEntry(entryName, kind, kind == EntryKind.File ? (long)attributes.Size : 0, modified);
        }
        finally
        {
            LibSsh.SftpAttributesFree(pointer);
        }
    }

    public Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken) =>
        RunAsync<EndpointEntry?>(sftp =>
        {
            // A link to a file counts as that file; a link to a directory stays a link (never entered).
            var linked = ReadAttributes(LibSsh.SftpLstat(sftp, Remote(path)), EndpointPaths.Name(path));
            if (linked is null)
            {
                // The last status outlives a dropped connection: "not found" counts only on a live one.
                var status = LibSsh.SftpGetError(sftp);
                return status is LibSsh.NoSuchFile or LibSsh.NoSuchPath && _session is not null && LibSsh.IsConnected(_session) != 0
                    ? null
                    : throw Failure(sftp, $"Cannot stat {Describe(path)}");
            }

            if (linked.Kind != EntryKind.Other || path.Length == 0)
            {
                return linked;
            }

            var target = ReadAttributes(LibSsh.SftpStat(sftp, Remote(path)), EndpointPaths.Name(path));
            return target is { IsFile: true } ? target : linked;
        }, cancellationToken);

    public Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<EndpointEntry>>(sftp =>
        {
            using var directory = LibSsh.DirectoryHandle.Open(sftp, Remote(path)) ?? throw Failure(sftp, $"Cannot list {Describe(path)}");
            var entries = new List<EndpointEntry>();
            while (true)
            {
                var pointer = LibSsh.SftpReadDirectory(sftp, directory.DangerousGetHandle());
                if (pointer == IntPtr.Zero)
                {
                    if (LibSsh.SftpDirectoryEnd(directory.DangerousGetHandle()) == 0)
                    {
                        throw Failure(sftp, $"Cannot list {Describe(path)}");
                    }

                    break;
                }

                if (entries.Count >= MaxListing)
                {
                    throw new SftpException($"The listing of {Describe(path)} has more than {MaxListing} entries; it is not trusted.");
                }

                if (ReadAttributes(pointer) is { Name: not "." and not ".." } entry)
                {
                    if (entry.Kind == EntryKind.Other
                        && ReadAttributes(LibSsh.SftpStat(sftp, Remote(EndpointPaths.Join(path, entry.Name))), entry.Name) is { IsFile: true } file)
                    {
                        entry = file;
                    }

                    entries.Add(entry);
                }
            }

            return entries;
        }, cancellationToken);

    public Task MkdirAsync(string path, CancellationToken cancellationToken) =>
        RunAsync(sftp =>
        {
            var prefix = path.StartsWith('/') ? "/" : string.Empty;
            var current = string.Empty;
            foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                current = current.Length == 0 ? prefix + segment : current + "/" + segment;
                if (LibSsh.SftpMkdir(sftp, current, Convert.ToUInt32("755", 8)) != LibSsh.Ok
                    && ReadAttributes(LibSsh.SftpStat(sftp, current)) is not { IsDirectory: true })
                {
                    throw Failure(sftp, $"Cannot create {Describe(current)}");
                }
            }
        }, cancellationToken);

    public Task DeleteAsync(string path, CancellationToken cancellationToken) =>
        RunAsync(sftp =>
        {
            var entry = ReadAttributes(LibSsh.SftpLstat(sftp, Remote(path)));
            var result = entry is { IsDirectory: true } ? LibSsh.SftpRmdir(sftp, Remote(path)) : LibSsh.SftpUnlink(sftp, Remote(path));
            if (result != LibSsh.Ok)
            {
                throw Failure(sftp, $"Cannot delete {Describe(path)}");
            }
        }, cancellationToken);

    public Task RenameAsync(string from, string to, CancellationToken cancellationToken) =>
        RunAsync(sftp => Rename(sftp, from, to, replace: false), cancellationToken);

    /// <summary>
    /// Renames; a target that exists is an error unless <paramref name="replace"/>, and then it is
    /// replaced atomically with posix-rename@openssh.com where offered, else by stepping the old
    /// file aside first (it comes back if the new one cannot take its place).
    /// </summary>
    private void Rename(LibSsh.SftpHandle sftp, string from, string to, bool replace)
    {
        var existing = ReadAttributes(LibSsh.SftpLstat(sftp, Remote(to)));
        if (existing is not null && !replace)
        {
            throw new SftpException($"Cannot rename to {Describe(to)}: it already exists.", LibSsh.FileAlreadyExists);
        }

        if (existing is null)
        {
            if (LibSsh.SftpRename(sftp, Remote(from), Remote(to)) != LibSsh.Ok)
            {
                throw Failure(sftp, $"Cannot rename {Describe(from)} to {Describe(to)}");
            }

            return;
        }

        var channel = Writer();
        if (channel.Extensions.Contains("posix-rename@openssh.com"))
        {
            channel.PosixRename(Remote(from), Remote(to));
            return;
        }

        var aside = to + ".sxfer-old-" + Guid.NewGuid().ToString("N")[..8];
        if (LibSsh.SftpRename(sftp, Remote(to), Remote(aside)) == LibSsh.Ok)
        {
            if (LibSsh.SftpRename(sftp, Remote(from), Remote(to)) == LibSsh.Ok)
            {
                LibSsh.SftpUnlink(sftp, Remote(aside));
                return;
            }

            LibSsh.SftpRename(sftp, Remote(aside), Remote(to));
        }

        throw Failure(sftp, $"Cannot rename {Describe(from)} to {Describe(to)}");
    }

    /// <summary>The second channel (pipelined writes, extensions), opened on first use.</summary>
    private SftpPipelinedWriter Writer() => _writer ??= SftpPipelinedWriter.Start(_session!, settings.Timeout);

    public Task SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        RunAsync(sftp => SetModified(sftp, path, modified), cancellationToken);

    private unsafe void SetModified(LibSsh.SftpHandle sftp, string path, DateTimeOffset modified)
    {
        var times = stackalloc LibSsh.TimeValue[2];
        times[0] = new LibSsh.TimeValue { Seconds = modified.ToUnixTimeSeconds() };
        times[1] = times[0];
        if (LibSsh.SftpSetTimes(sftp, Remote(path), times) != LibSsh.Ok)
        {
            throw Failure(sftp, $"Cannot set the time of {Describe(path)}");
        }
    }

    public Task<EndpointTransfer> UploadAsync(string localFile, string path, bool replace, IProgress<long>? progress, CancellationToken cancellationToken) =>
        RunAsync(sftp =>
        {
            using var input = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var size = input.Length;
            var modified = File.GetLastWriteTimeUtc(input.SafeFileHandle);
            if (!replace && ReadAttributes(LibSsh.SftpLstat(sftp, Remote(path))) is not null)
            {
                throw new SftpException($"{Describe(path)} already exists; it was left as it is.", LibSsh.FileAlreadyExists);
            }

            // What an interrupted attempt left at the staging name is continued, not sent again.
            var staging = PartialDownload.StagingPath(path, size, modified);
            var held = ReadAttributes(LibSsh.SftpStat(sftp, Remote(staging)));
            var offset = held is { IsFile: true } && held.Size <= size ? held.Size : 0;
            input.Position = offset;
            progress?.Report(offset);
            try
            {
                Writer().Upload(Remote(staging), input, offset, truncate: offset == 0, progress, cancellationToken);
            }
            catch
            {
                // Its channel may hold answers nobody will read: the next upload starts a fresh one.
                _writer?.Dispose();
                _writer = null;
                throw;
            }

            var stored = ReadAttributes(LibSsh.SftpStat(sftp, Remote(staging)));
            if (stored is not { IsFile: true } || stored.Size != size)
            {
                LibSsh.SftpUnlink(sftp, Remote(staging));
                throw new SftpException($"The SFTP server holds {stored?.Size ?? 0} bytes of {Describe(path)} after the upload, not {size}; it was discarded.");
            }

            SetModified(sftp, staging, new DateTimeOffset(modified, TimeSpan.Zero));
            Rename(sftp, staging, path, replace);
            return new EndpointTransfer(size, offset, null);
        }, cancellationToken);

    public Task<EndpointTransfer> DownloadAsync(string path, string localFile, bool replace, IProgress<long>? progress, CancellationToken cancellationToken) =>
        RunAsync(sftp =>
        {
            var entry = ReadAttributes(LibSsh.SftpStat(sftp, Remote(path)), EndpointPaths.Name(path));
            if (entry is not { IsFile: true })
            {
                throw new FileNotFoundException($"{Describe(path)} is not a file.");
            }

            var download = new PartialDownload(localFile, entry.Size, entry.Modified);
            var partial = download.Partial;
            var offset = download.Begin(serverCanResume: true, timeKnown: true);
            using (var output = new FileStream(partial, offset > 0 ? FileMode.Open : FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                output.SetLength(offset);
                output.Position = offset;
                progress?.Report(offset);
                using (var file = LibSsh.FileHandle.Open(sftp, Remote(path), LibSsh.ReadOnly, 0) ?? throw Failure(sftp, $"Cannot read {Describe(path)}"))
                {
                    if (offset > 0 && LibSsh.SftpSeek(file, (ulong)offset) != LibSsh.Ok)
                    {
                        throw Failure(sftp, $"Cannot continue {Describe(path)}");
                    }

                    ReadPipelined(sftp, file, output, entry.Size - offset, progress, offset, path, cancellationToken);
                }

                if (output.Length != entry.Size)
                {
                    throw new SftpException($"The download of {Describe(path)} brought {output.Length} bytes, not {entry.Size}; run again to continue.");
                }

                output.Flush();
                File.SetLastWriteTimeUtc(output.SafeFileHandle, entry.Modified.UtcDateTime);
                output.Flush(flushToDisk: true);
            }

            download.Complete(replace);
            return new EndpointTransfer(entry.Size, offset, null);
        }, cancellationToken);

    /// <summary>Reads with up to <see cref="ReadsInFlight"/> requests outstanding, so the link stays busy instead of waiting a round trip per block.</summary>
    private unsafe void ReadPipelined(LibSsh.SftpHandle sftp, LibSsh.FileHandle file, FileStream output, long remaining, IProgress<long>? progress, long done, string path, CancellationToken cancellationToken)
    {
        var pending = new Queue<(int Id, int Length)>();
        var requested = 0L;
        var buffer = new byte[ReadBlock];
        void Request()
        {
            while (pending.Count < ReadsInFlight && requested < remaining)
            {
                var length = (int)Math.Min(ReadBlock, remaining - requested);
                var id = LibSsh.SftpAsyncReadBegin(file, (uint)length);
                if (id < 0)
                {
                    throw Failure(sftp, $"Cannot read {Describe(path)}");
                }

                pending.Enqueue((id, length));
                requested += length;
            }
        }

        Request();
        try
        {
            ReadRequested(sftp, file, output, pending, Request, buffer, progress, done, path, cancellationToken);
        }
        finally
        {
            if (pending.Count > 0)
            {
                // Answers to requests still out would pile up in the session: start afresh next time.
                _dropAfter = true;
            }
        }
    }

    private unsafe void ReadRequested(LibSsh.SftpHandle sftp, LibSsh.FileHandle file, FileStream output, Queue<(int Id, int Length)> pending, Action request,
        byte[] buffer, IProgress<long>? progress, long done, string path, CancellationToken cancellationToken)
    {
        fixed (byte* start = buffer)
        {
            while (pending.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (id, length) = pending.Dequeue();
                var read = LibSsh.SftpAsyncRead(file, start, (uint)length, (uint)id);
                if (read < 0)
                {
                    throw Failure(sftp, $"Cannot read {Describe(path)}");
                }

                if (read == 0)
                {
                    break;
                }

                output.Write(buffer, 0, read);
                done += read;
                progress?.Report(done);
                if (read < length)
                {
                    // A short read (the file shrank): what follows is out of step; the size check says so.
                    break;
                }

                request();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            Drop();
        }
        finally
        {
            _gate.Release();
            _gate.Dispose();
        }
    }
}
