using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SecureXfer.Tests.Support;

namespace SecureXfer.Benchmarks;

/// <summary>An OpenSSH sshd of our own on a free loopback port, with its own host key, config and client key.</summary>
internal sealed class OpenSshServer : IAsyncDisposable
{
    private readonly TempDir _dir = new("sx-sshd");
    private Process? _process;

    public int Port { get; private set; }

    public string ClientKey => _dir.Combine("client_key");

    public string User => Environment.UserName;

    public static async Task<OpenSshServer> StartAsync()
    {
        var server = new OpenSshServer();
        await server.RunAsync();
        return server;
    }

    private async Task RunAsync()
    {
        Directory.CreateDirectory("/run/sshd");
        await Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", _dir.Combine("host_key"));
        await Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ClientKey);
        File.Copy(ClientKey + ".pub", _dir.Combine("authorized_keys"));
        Port = FreePort();
        var config = _dir.Combine("sshd_config");
        await File.WriteAllTextAsync(config, $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {_dir.Combine("host_key")}
            AuthorizedKeysFile {_dir.Combine("authorized_keys")}
            PidFile {_dir.Combine("sshd.pid")}
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            Subsystem sftp internal-sftp
            LogLevel ERROR

            """);
        var sshd = File.Exists("/usr/sbin/sshd") ? "/usr/sbin/sshd" : "sshd";
        _process = Process.Start(new ProcessStartInfo(sshd, ["-D", "-e", "-f", config]) { RedirectStandardError = true, UseShellExecute = false })!;
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException("sshd did not start: " + await _process.StandardError.ReadToEndAsync());
    }

    /// <summary>Arguments for sftp in batch mode against this server.</summary>
    public List<string> SftpArgs(string batchFile, string? cipher) =>
    [
        "-q", "-b", batchFile, "-P", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", ClientKey,
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        .. cipher is null ? Array.Empty<string>() : ["-c", cipher],
        $"{User}@127.0.0.1",
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task Must(string file, params string[] args)
    {
        var (code, _, stderr) = await Tool.RunAsync(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} failed: {stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _dir.Dispose();
    }
}
