using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
namespace SecureXfer.Tests.Support;

/// <summary>
/// An OpenSSH sshd of our own on a free loopback port, with its own host key, config and client
/// key (authorized for every user), and password logins for the test account
/// (<see cref="TestAccount"/>), which is not root.
/// </summary>
public sealed class OpenSshServer : IAsyncDisposable
{
    private readonly TempDir _dir = new("sx-sshd");
    private Process? _process;

    public int Port { get; private set; }

    public string ClientKey => _dir.Combine("client_key");

    /// <summary>A second client key, protected by <see cref="KeyPassphrase"/>.</summary>
    public string ProtectedKey => _dir.Combine("protected_key");

    public const string KeyPassphrase = "key-passphrase-1";

    /// <summary>The host key's fingerprint as ssh-keygen -lf prints it (SHA256:base64).</summary>
    public string HostKeyFingerprint { get; private set; } = string.Empty;

    /// <summary>A known_hosts file with this server's host key.</summary>
    public string KnownHostsFile => _dir.Combine("known_hosts");

    public string User => Environment.UserName;

    /// <summary>Starts sshd; with <paramref name="testAccount"/>, the password-login account is made sure of first (needs root).</summary>
    public static async Task<OpenSshServer> StartAsync(bool testAccount = false)
    {
        var server = new OpenSshServer();
        await server.RunAsync(testAccount);
        return server;
    }

    private async Task RunAsync(bool testAccount)
    {
        Directory.CreateDirectory("/run/sshd");
        await Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", _dir.Combine("host_key"));
        await Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ClientKey);
        await Must("ssh-keygen", "-q", "-t", "ed25519", "-N", KeyPassphrase, "-f", ProtectedKey);
        File.WriteAllText(_dir.Combine("authorized_keys"), File.ReadAllText(ClientKey + ".pub") + File.ReadAllText(ProtectedKey + ".pub"));

        // sshd reads authorized_keys as the user logging in, who is not always root.
        File.SetUnixFileMode(_dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(_dir.Combine("authorized_keys"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        if (testAccount)
        {
            await TestAccount.EnsureAsync();
        }

        Port = FreePort();
        var (_, listed, _) = await Tool.RunAsync("ssh-keygen", ["-lf", _dir.Combine("host_key.pub")]);
        HostKeyFingerprint = listed.Split(' ')[1];
        File.WriteAllText(KnownHostsFile, $"[127.0.0.1]:{Port} {File.ReadAllText(_dir.Combine("host_key.pub")).Trim()}\n");
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
            PasswordAuthentication yes
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
