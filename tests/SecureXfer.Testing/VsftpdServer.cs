using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SecureXfer.Tests.Support;

/// <summary>
/// A real vsftpd on a free loopback port, from its own config file, logging in a local system
/// user (created once, with a fixed password) whose files live in a scratch directory under
/// the user's home. With TLS it requires explicit FTPS for logins and data, and TLS session
/// reuse on data connections, as vsftpd does by default.
/// </summary>
public sealed class VsftpdServer : IAsyncDisposable
{
    public const string User = TestAccount.User;
    public const string Password = TestAccount.Password;

    private readonly TempDir _dir = new("sx-vsftpd");
    private Process? _process;

    private VsftpdServer(bool tls, bool implicitTls)
    {
        Tls = tls || implicitTls;
        ImplicitTls = implicitTls;
    }

    public bool Tls { get; }

    /// <summary>TLS from the first byte (implicit FTPS) instead of AUTH TLS.</summary>
    public bool ImplicitTls { get; }

    public int Port { get; private set; }

    /// <summary>The certificate (PEM) the server presents, for clients that trust it as their CA.</summary>
    public string CertificatePath => _dir.Combine("cert.pem");

    /// <summary>The user's home, which is the FTP login directory.</summary>
    public static string Home => TestAccount.Home;

    public string Log => File.Exists(_dir.Combine("vsftpd.log")) ? File.ReadAllText(_dir.Combine("vsftpd.log")) : string.Empty;

    public static async Task<VsftpdServer> StartAsync(bool tls, bool implicitTls = false)
    {
        if (!File.Exists("/usr/sbin/vsftpd"))
        {
            throw new InvalidOperationException("vsftpd is not installed; ./test.sh installs it (apt-get install vsftpd).");
        }

        await TestAccount.EnsureAsync();
        var server = new VsftpdServer(tls, implicitTls);
        await server.StartProcessAsync();
        return server;
    }

    private async Task StartProcessAsync()
    {
        Port = FreePort();
        var passive = FreePort();
        Directory.CreateDirectory(_dir.Combine("empty"));
        var config = new List<string>
        {
            "listen=YES",
            "listen_ipv6=NO",
            "listen_address=127.0.0.1",
            $"listen_port={Port}",
            "background=NO",
            "anonymous_enable=NO",
            "local_enable=YES",
            "write_enable=YES",
            "local_umask=022",
            "pasv_enable=YES",
            "pasv_address=127.0.0.1",
            $"pasv_min_port={passive}",
            $"pasv_max_port={passive + 20}",
            $"secure_chroot_dir={_dir.Combine("empty")}",
            "seccomp_sandbox=NO",
            "pam_service_name=vsftpd",
            "mdtm_write=YES",
            "utf8_filesystem=YES",
            "use_localtime=NO",
            $"vsftpd_log_file={_dir.Combine("vsftpd.log")}",
            "log_ftp_protocol=YES",
            "dual_log_enable=NO",
            "xferlog_enable=YES",
        };
        if (Tls)
        {
            var made = await Tool.RunAsync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", _dir.Combine("key.pem"), "-out", CertificatePath]);
            if (made.ExitCode != 0)
            {
                throw new InvalidOperationException("openssl failed: " + made.Stderr);
            }

            config.AddRange([
                "ssl_enable=YES",
                $"rsa_cert_file={CertificatePath}",
                $"rsa_private_key_file={_dir.Combine("key.pem")}",
                "force_local_logins_ssl=YES",
                "force_local_data_ssl=YES",
                "require_ssl_reuse=YES",
                "ssl_tlsv1=YES",
                "ssl_sslv2=NO",
                "ssl_sslv3=NO",
                "ssl_ciphers=HIGH",
            ]);
            if (ImplicitTls)
            {
                config.Add("implicit_ssl=YES");
            }
        }

        var file = _dir.Combine("vsftpd.conf");
        File.WriteAllLines(file, config);
        var info = new ProcessStartInfo("/usr/sbin/vsftpd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(file);
        _process = Process.Start(info)!;
        _ = _process.StandardOutput.ReadToEndAsync();
        var errors = _process.StandardError.ReadToEndAsync();

        // Ready when it accepts a connection and greets.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"vsftpd exited at start: {await errors}\n{Log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                if (ImplicitTls)
                {
                    // The greeting comes only after a TLS handshake; accepting is enough here.
                    return;
                }

                using var reader = new StreamReader(probe.GetStream());
                if ((await reader.ReadLineAsync())?.StartsWith("220", StringComparison.Ordinal) == true)
                {
                    return;
                }
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException("vsftpd did not start listening.\n" + Log);
    }

    /// <summary>A fresh directory in the user's home (owned by the user), relative to the login directory.</summary>
    public static Task<string> NewDirectoryAsync() => TestAccount.NewDirectoryAsync();

    private static int FreePort()
    {
        // A port whose next 20 neighbours are free too, so it also serves as a passive range.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port < 65000)
            {
                return port;
            }
        }

        throw new InvalidOperationException("No free port.");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _dir.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"vsftpd on 127.0.0.1:{Port} (tls: {Tls})");
}
