using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using SecureXfer.Shared.Security;

namespace SecureXfer.Shared.Endpoints.Ftp;

/// <summary>How an FTP connection is protected.</summary>
public enum FtpSecurity
{
    /// <summary>Plain FTP: the password and the data travel in clear.</summary>
    None,

    /// <summary>RFC 4217 explicit FTPS: AUTH TLS on the normal port, then PBSZ 0 and PROT P.</summary>
    Explicit,

    /// <summary>Implicit FTPS: TLS from the first byte (usually port 990).</summary>
    Implicit,
}

/// <summary>Where and how to reach an FTP server, and as whom.</summary>
public sealed record FtpSettings(string Host, int Port, string User, string Password, FtpSecurity Security, ServerTrust Trust)
{
    /// <summary>
    /// The name TLS is negotiated for. A host name by default; for a server addressed by IP
    /// this can name it, because TLS sessions are only resumed for names, and servers such as
    /// vsftpd refuse data connections that do not resume the control connection's session.
    /// </summary>
    public string? TlsName { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>One reply: its three-digit code and its text (all lines of a multi-line reply).</summary>
public sealed record FtpReply(int Code, string Text)
{
    public bool Positive => Code is >= 200 and < 300;

    public bool Intermediate => Code is >= 300 and < 400;

    public string Message => Text.Replace("\r\n", " ", StringComparison.Ordinal).Trim();
}

/// <summary>A refusal from an FTP server (a 4xx or 5xx reply) or a broken exchange.</summary>
public sealed class FtpException(string message, int code = 0) : IOException(message)
{
    public int Code { get; } = code;

    /// <summary>4xx replies are transient by definition (RFC 959 §4.2).</summary>
    public bool Transient => Code is >= 400 and < 500;
}

/// <summary>
/// The control connection of an FTP session (RFC 959, with RFC 2428 EPSV, RFC 3659, RFC 4217
/// TLS): login, commands and replies, and passive data connections. Passive addresses from
/// the server are ignored in favour of the control connection's peer, so a hostile server
/// cannot point the client at a third host (the FTP bounce pattern). One command at a time.
/// </summary>
public sealed class FtpConnection : IAsyncDisposable
{
    private readonly FtpSettings _settings;
    private readonly TcpClient _tcp;
    private readonly byte[] _buffer = new byte[8192];
    private Stream _stream;
    private int _start;
    private int _end;
    private IPAddress _peer = IPAddress.Loopback;
    private bool _finished;

    private FtpConnection(FtpSettings settings, TcpClient tcp)
    {
        _settings = settings;
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Features from FEAT, upper case (e.g. "MLST", "MFMT", "SIZE", "REST STREAM", "UTF8", "EPSV").</summary>
    public IReadOnlySet<string> Features { get; private set; } = new HashSet<string>();

    public bool Encrypted => _settings.Security != FtpSecurity.None;

    private string TlsName => _settings.TlsName ?? _settings.Host;

    public static async Task<FtpConnection> ConnectAsync(FtpSettings settings, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        FtpConnection? connection = null;
        try
        {
            using (var timeout = Deadline(settings, cancellationToken))
            {
                await tcp.ConnectAsync(settings.Host, settings.Port, timeout.Token).ConfigureAwait(false);
            }

            connection = new FtpConnection(settings, tcp) { _peer = ((IPEndPoint)tcp.Client.RemoteEndPoint!).Address };
            if (settings.Security == FtpSecurity.Implicit)
            {
                await connection.UpgradeAsync(cancellationToken).ConfigureAwait(false);
            }

            await connection.ExpectAsync(await connection.ReadReplyAsync(cancellationToken).ConfigureAwait(false), "greeting").ConfigureAwait(false);
            if (settings.Security == FtpSecurity.Explicit)
            {
                await connection.CommandAsync("AUTH TLS", cancellationToken).ConfigureAwait(false);
                await connection.UpgradeAsync(cancellationToken).ConfigureAwait(false);
            }

            await connection.LoginAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                tcp.Dispose();
            }

            throw;
        }
    }

    private async Task LoginAsync(CancellationToken cancellationToken)
    {
        var user = await SendAsync("USER " + _settings.User, cancellationToken).ConfigureAwait(false);
        if (user.Intermediate)
        {
            var pass = await SendAsync("PASS " + _settings.Password, cancellationToken, secret: true).ConfigureAwait(false);
            if (!pass.Positive)
            {
                throw new FtpException($"The FTP server refused the login for {_settings.User}: {pass.Message}", pass.Code is >= 400 and < 500 ? 530 : pass.Code);
            }
        }
        else if (!user.Positive)
        {
            throw new FtpException($"The FTP server refused the user {_settings.User}: {user.Message}", user.Code);
        }

        var features = await SendAsync("FEAT", cancellationToken).ConfigureAwait(false);
        Features = features.Positive
            ? features.Text.Split("\r\n").Skip(1).Select(l => l.Trim().ToUpperInvariant()).Where(l => l.Length > 0 && !l.StartsWith("211", StringComparison.Ordinal)).ToHashSet()
            : new HashSet<string>();
        if (Features.Contains("UTF8"))
        {
            await SendAsync("OPTS UTF8 ON", cancellationToken).ConfigureAwait(false);
        }

        if (Encrypted)
        {
            await CommandAsync("PBSZ 0", cancellationToken).ConfigureAwait(false);
            await CommandAsync("PROT P", cancellationToken).ConfigureAwait(false);
        }

        await CommandAsync("TYPE I", cancellationToken).ConfigureAwait(false);
    }

    public bool Supports(string feature) => Features.Any(f => f == feature || f.StartsWith(feature + " ", StringComparison.Ordinal));

    /// <summary>Sends a command and requires a 2xx or 3xx reply; anything else becomes an <see cref="FtpException"/>.</summary>
    public async Task<FtpReply> CommandAsync(string command, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(command, cancellationToken).ConfigureAwait(false);
        return await ExpectAsync(reply, command).ConfigureAwait(false);
    }

    private Task<FtpReply> ExpectAsync(FtpReply reply, string what)
    {
        if (reply.Positive || reply.Intermediate)
        {
            return Task.FromResult(reply);
        }

        if (reply.Code == 522)
        {
            throw new FtpException(DataTlsFailure(reply), reply.Code);
        }

        var verb = what.Split(' ')[0];
        throw new FtpException($"The FTP server refused {verb}: {reply.Code} {reply.Message}", reply.Code);
    }

    /// <summary>Sends a command and returns whatever the server answers.</summary>
    public async Task<FtpReply> SendAsync(string command, CancellationToken cancellationToken, bool secret = false)
    {
        if (command.Contains('\r', StringComparison.Ordinal) || command.Contains('\n', StringComparison.Ordinal))
        {
            // A CR or LF would end the command early and start another one of the caller's choosing.
            throw new ArgumentException(secret ? "The password contains a line break." : $"An FTP argument contains a line break: {command}");
        }

        using var timeout = Deadline(_settings, cancellationToken);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), timeout.Token).ConfigureAwait(false);
        await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
        return await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one reply, joining the lines of a multi-line one ("123-..." up to "123 ...").</summary>
    public async Task<FtpReply> ReadReplyAsync(CancellationToken cancellationToken)
    {
        using var timeout = Deadline(_settings, cancellationToken);
        var first = await ReadLineAsync(timeout.Token).ConfigureAwait(false);
        if (first.Length < 3 || !int.TryParse(first.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            throw new FtpException($"The FTP server sent something that is not a reply: '{Shorten(first)}'.");
        }

        var text = new StringBuilder(first);
        if (first.Length > 3 && first[3] == '-')
        {
            var end = first[..3] + " ";
            string line;
            do
            {
                line = await ReadLineAsync(timeout.Token).ConfigureAwait(false);
                text.Append("\r\n").Append(line);
                if (text.Length > 1 << 20)
                {
                    throw new FtpException("The FTP server's reply is too long.");
                }
            }
            while (!line.StartsWith(end, StringComparison.Ordinal));
        }

        return new FtpReply(code, text.ToString());
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (_end == 0)
                {
                    throw new FtpException("The FTP server closed the connection.", 421);
                }
            }

            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var stop = newline < 0 ? _end : newline;
            line.AddRange(_buffer.AsSpan(_start, stop - _start));
            _start = newline < 0 ? _end : newline + 1;
            if (line.Count > 64 * 1024)
            {
                throw new FtpException("The FTP server sent a line that is too long.");
            }

            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(line.ToArray()).TrimEnd('\r');
            }
        }
    }

    private async Task UpgradeAsync(CancellationToken cancellationToken)
    {
        if (_start != _end)
        {
            throw new FtpException("The FTP server sent data before the TLS handshake.");
        }

        _stream = await HandshakeAsync(_stream, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SslStream> HandshakeAsync(Stream inner, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false, (_, certificate, chain, errors) => _settings.Trust.Validate(certificate, chain, errors));
        try
        {
            using var timeout = Deadline(_settings, cancellationToken);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = TlsName,
                // TLS 1.2: data connections must resume the control connection's session (vsftpd
                // refuses them otherwise), and .NET resumes TLS 1.2 sessions, not 1.3 tickets.
                EnabledSslProtocols = SslProtocols.Tls12,
            }, timeout.Token).ConfigureAwait(false);
            return ssl;
        }
        catch (AuthenticationException ex) when (_settings.Trust.LastSeen is { } seen)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new UntrustedServerException(
                $"The FTPS server {_settings.Host}:{_settings.Port} presented a certificate that is not trusted ({ex.Message}); its fingerprint is {CertificateFingerprint.Of(seen)}.",
                CertificateFingerprint.Of(seen));
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens a passive data connection (EPSV, else PASV) to the control connection's peer and
    /// sends <paramref name="command"/> on it; returns the data stream once the server said 1xx.
    /// The caller reads or writes it, disposes it, then calls <see cref="FinishTransferAsync"/>.
    /// </summary>
    public async Task<Stream> OpenDataAsync(string command, CancellationToken cancellationToken, long restartAt = 0)
    {
        var port = await PassivePortAsync(cancellationToken).ConfigureAwait(false);
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using (var timeout = Deadline(_settings, cancellationToken))
            {
                await tcp.ConnectAsync(_peer, port, timeout.Token).ConfigureAwait(false);
            }

            // REST goes right before the transfer command (RFC 959), after the passive port.
            if (restartAt > 0)
            {
                await CommandAsync("REST " + restartAt.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            }

            var start = await SendAsync(command, cancellationToken).ConfigureAwait(false);
            if (start.Code is 226 or 250)
            {
                // Done without a preliminary reply (an empty listing on some servers): nothing to read.
                tcp.Dispose();
                _finished = true;
                return new DataStream(new MemoryStream([], writable: false), new TcpClient(), _settings.Timeout);
            }

            if (start.Code is not (>= 100 and < 200))
            {
                tcp.Dispose();
                throw new FtpException($"The FTP server refused {command.Split(' ')[0]}: {start.Code} {start.Message}", start.Code);
            }

            Stream data = tcp.GetStream();
            if (Encrypted)
            {
                try
                {
                    data = await HandshakeAsync(data, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or AuthenticationException or UntrustedServerException)
                {
                    // The server says why on the control connection (vsftpd: 522 ... session reuse required).
                    var reason = await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
                    if (ex is UntrustedServerException)
                    {
                        throw;
                    }

                    throw new FtpException(DataTlsFailure(reason), reason.Code);
                }
            }

            return new DataStream(data, tcp, _settings.Timeout);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private string DataTlsFailure(FtpReply reason)
    {
        var text = $"The FTPS server refused the TLS data connection: {reason.Code} {reason.Message}";
        return reason.Message.Contains("reuse", StringComparison.OrdinalIgnoreCase) && IPAddress.TryParse(TlsName, out _)
            ? text + $" It requires the control connection's TLS session to be resumed, which works only for a server addressed by name: use its host name, or give the name with --tls-name."
            : text;
    }

    /// <summary>The final reply of a transfer (226 or 250), after the data connection has been closed.</summary>
    public async Task FinishTransferAsync(string what, CancellationToken cancellationToken)
    {
        if (_finished)
        {
            _finished = false;
            return;
        }

        var done = await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
        await ExpectAsync(done, what).ConfigureAwait(false);
    }

    private async Task<int> PassivePortAsync(CancellationToken cancellationToken)
    {
        var extended = await SendAsync("EPSV", cancellationToken).ConfigureAwait(false);
        if (extended.Code == 229)
        {
            // 229 Entering Extended Passive Mode (|||port|)
            var open = extended.Text.IndexOf('(', StringComparison.Ordinal);
            var close = extended.Text.IndexOf(')', open + 1);
            var parts = open >= 0 && close > open ? extended.Text[(open + 1)..close].Split(extended.Text[open + 1]) : [];
            if (parts.Length >= 4 && int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
            {
                return port;
            }

            throw new FtpException($"The FTP server's EPSV reply cannot be read: {extended.Message}");
        }

        var passive = await CommandAsync("PASV", cancellationToken).ConfigureAwait(false);

        // 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2): the address is ignored, only the port is used.
        var text = passive.Text[3..];
        if (text.IndexOf('(', StringComparison.Ordinal) is var left and >= 0 && text.IndexOf(')', left) is var right and > 0)
        {
            text = text[(left + 1)..right];
        }

        var digits = new string([.. text.Select(c => char.IsAsciiDigit(c) || c == ',' ? c : ' ')]);
        var numbers = digits.Split([' '], StringSplitOptions.RemoveEmptyEntries).SelectMany(p => p.Split(',')).Where(p => p.Length > 0).ToList();
        if (numbers.Count >= 6
            && int.TryParse(numbers[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var high) && high < 256
            && int.TryParse(numbers[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var low) && low < 256
            && (high << 8 | low) > 0)
        {
            return high << 8 | low;
        }

        throw new FtpException($"The FTP server's PASV reply cannot be read: {passive.Message}");
    }

    private static CancellationTokenSource Deadline(FtpSettings settings, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(settings.Timeout);
        return source;
    }

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "..." : text;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_tcp.Connected)
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _stream.WriteAsync("QUIT\r\n"u8.ToArray(), quick.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Closing anyway.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _tcp.Dispose();
    }

    /// <summary>A data connection: closing it ends TLS properly (close_notify) before the socket goes.</summary>
    private sealed class DataStream(Stream inner, TcpClient tcp, TimeSpan idle) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        /// <summary>Each read and write must make progress within the idle time: a stalled server does not hang a transfer.</summary>
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(idle);
            try
            {
                return await inner.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new FtpException($"The FTP server sent nothing for {idle.TotalSeconds} s; the transfer was stopped.");
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(idle);
            try
            {
                await inner.WriteAsync(buffer, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new FtpException($"The FTP server took nothing for {idle.TotalSeconds} s; the transfer was stopped.");
            }
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private bool _disposed;

        public override async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if (inner is SslStream ssl)
                {
                    await ssl.ShutdownAsync().WaitAsync(quick.Token).ConfigureAwait(false);
                }

                // Half-close, then wait for the server to close its side: closing at once could reset
                // the connection while the server is still reading the last bytes.
                tcp.Client.Shutdown(SocketShutdown.Send);
                var drain = new byte[4096];
                while (await inner.ReadAsync(drain, quick.Token).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or AuthenticationException or SocketException or InvalidOperationException)
            {
                // The transfer's own reply says whether it worked.
            }

            await inner.DisposeAsync().ConfigureAwait(false);
            tcp.Dispose();
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                inner.Dispose();
                tcp.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
