using System.Security.Cryptography.X509Certificates;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Security;
using SecureXfer.Tests.Cli;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// certs/make-dev-certs.sh: a CA, a server certificate for exactly the names and addresses given,
/// private keys, a client-trust bundle; the server serves it through SecureXfer:Tls and clients
/// trust it through --ca, by name and by address, and nothing else is accepted.
/// </summary>
public sealed class DevCertificateTests : IDisposable
{
    private readonly TempDir _dir = new("sx-devca");

    public void Dispose() => _dir.Dispose();

    private static string Script => Path.Combine(Repo.Root, "certs", "make-dev-certs.sh");

    [Fact]
    public async Task The_script_makes_a_CA_a_server_certificate_for_the_given_names_and_private_keys()
    {
        var (code, stdout, stderr) = await Tool.RunAsync("bash", [Script, "-o", _dir.Path, "files.example.test", "127.0.0.2", "::1"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("client-trust.pem", stdout, StringComparison.Ordinal);

        using var server = X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("server.crt"));
        var names = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["files.example.test"], names.EnumerateDnsNames().ToArray());
        Assert.Equal(["127.0.0.2", "::1"], names.EnumerateIPAddresses().Select(a => a.ToString()).ToArray());
        Assert.False(server.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        using var ca = X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("ca.crt"));
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(ca.RawData, X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("client-trust.pem")).RawData);

        var (verified, _, verifyError) = await Tool.RunAsync("openssl", ["verify", "-CAfile", _dir.Combine("client-trust.pem"), _dir.Combine("server.crt")]);
        Assert.True(verified == 0, verifyError);
        foreach (var key in new[] { "ca.key", "server.key" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.Combine(key)));
        }

        // The same names again: the certificate is current and kept, so servers using it are undisturbed; --renew replaces it.
        var (kept, keptOut, _) = await Tool.RunAsync("bash", [Script, "-o", _dir.Path, "files.example.test", "127.0.0.2", "::1"]);
        Assert.Equal(0, kept);
        Assert.Contains("kept", keptOut, StringComparison.Ordinal);
        Assert.Equal(server.RawData, X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("server.crt")).RawData);
        Assert.Equal(0, (await Tool.RunAsync("bash", [Script, "-o", _dir.Path, "--renew", "files.example.test", "127.0.0.2", "::1"])).ExitCode);
        Assert.NotEqual(server.RawData, X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("server.crt")).RawData);

        // Other names: the CA stays (clients keep trusting it) and a new server certificate is issued.
        Assert.Equal(0, (await Tool.RunAsync("bash", [Script, "-o", _dir.Path, "other.example.test"])).ExitCode);
        Assert.Equal(ca.RawData, X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("ca.crt")).RawData);
        using var second = X509CertificateLoader.LoadCertificateFromFile(_dir.Combine("server.crt"));
        Assert.Equal(["other.example.test"], second.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().ToArray());

        var (bad, _, badError) = await Tool.RunAsync("bash", [Script, "-o", _dir.Path, "not a name"]);
        Assert.Equal(2, bad);
        Assert.Contains("neither a DNS name nor an IP address", badError, StringComparison.Ordinal);

        var (ignored, _, _) = await Tool.RunAsync("git", ["-C", Repo.Root, "check-ignore", "-q", "certs/out/server.key"]);
        Assert.Equal(0, ignored);
    }

    [Fact]
    public async Task The_server_serves_the_script_certificate_and_clients_trust_it_by_name_and_address_through_the_bundle()
    {
        var (code, _, stderr) = await Tool.RunAsync("bash", [Script, "-o", _dir.Path, "files.example.test", "127.0.0.2"]);
        Assert.True(code == 0, stderr);
        var trust = _dir.Combine("client-trust.pem");

        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["SecureXfer__Tls__CertificatePath"] = _dir.Combine("server.crt"),
            ["SecureXfer__Tls__KeyPath"] = _dir.Combine("server.key"),
            ["SecureXfer__Bind"] = "127.0.0.2",
        }, caFile: trust);
        Assert.False(File.Exists(Path.Combine(server.DataDir, "tls", "server.crt")));

        // By address (the IP in the certificate) over SXP, and by name over HTTPS.
        var token = await LoginAsync(server, trust);
        var byAddress = new SxpEndpoint("127.0.0.2", server.SxpPort, ServerTrust.FromCaFile(trust));
        await using (var client = new SxpClient(byAddress, token))
        {
            await client.ListAsync("/", CancellationToken.None);
        }

        var port = server.HttpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (curl, stdout, curlError) = await Tool.RunAsync("curl", ["-sS", "--cacert", trust, "--resolve", $"files.example.test:{port}:127.0.0.2", $"https://files.example.test:{port}/health"]);
        Assert.True(curl == 0, curlError);
        Assert.Equal("ok", stdout);

        // A name the certificate does not carry is refused.
        var (wrongName, _, _) = await Tool.RunAsync("curl", ["-sS", "--cacert", trust, "--resolve", $"elsewhere.test:{port}:127.0.0.2", $"https://elsewhere.test:{port}/health"]);
        Assert.NotEqual(0, wrongName);

        // The CLI trusts it through --ca.
        using var home = new TempDir("sx-devca-cli");
        var cli = CliServer.Runner(home);
        var login = await cli.RunAsync(["login", "--server", $"https://127.0.0.2:{port}", "--user", "admin", "--ca", trust, "--password-stdin", "--json"], ServerProcess.AdminPassword + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Equal(0, (await cli.RunAsync("ls", "/")).ExitCode);
    }

    private static async Task<string> LoginAsync(ServerProcess server, string trust)
    {
        var port = server.HttpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (code, stdout, stderr) = await Tool.RunAsync("curl", ["-sS", "--cacert", trust, "-H", "Content-Type: application/json",
            "-d", $"{{\"username\":\"admin\",\"password\":\"{ServerProcess.AdminPassword}\"}}", $"https://127.0.0.2:{port}/api/v1/auth/login"]);
        Assert.True(code == 0, stderr);
        return System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("accessToken").GetString()!;
    }
}
