using System.Net;
using System.Security.Cryptography.X509Certificates;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Security;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

public sealed class TlsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess _server = fixture.Server;

    [Fact]
    public void The_generated_certificate_covers_the_loopback_names_and_its_key_is_private()
    {
        using var certificate = _server.Certificate;
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(Dns.GetHostName(), names.EnumerateDnsNames());
        Assert.Contains(IPAddress.Loopback, names.EnumerateIPAddresses());
        Assert.Contains(IPAddress.IPv6Loopback, names.EnumerateIPAddresses());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_server.DataDir, "tls", "server.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_server.DataDir, "jwt-signing.key")));
        Assert.Contains("Certificate fingerprint: " + CertificateFingerprint.Of(certificate), _server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    public async Task Curl_accepts_the_generated_certificate_as_its_CA(string host)
    {
        var (code, stdout, stderr) = await Tool.RunAsync("curl", ["-sS", "--cacert", _server.CertificatePath, $"https://{host}:{_server.HttpsPort}/health"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("ok", stdout);
    }

    [Fact]
    public async Task TLS_1_1_is_refused_on_both_listeners()
    {
        foreach (var port in new[] { _server.SxpPort, _server.HttpsPort })
        {
            var (_, stdout, stderr) = await Tool.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], stdin: "", timeout: TimeSpan.FromSeconds(20));
            Assert.Contains("alert protocol version", stdout + stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_pinned_fingerprint_that_does_not_match_is_refused()
    {
        var token = await _server.LoginAsync();
        var wrongPin = new SxpEndpoint("127.0.0.1", _server.SxpPort, new ServerTrust("SHA256:" + new string('a', 64)));
        await using var client = new SxpClient(wrongPin, token);
        using var certificate = _server.Certificate;
        var error = await Assert.ThrowsAsync<UntrustedServerException>(() => client.ConnectAsync(CancellationToken.None));
        Assert.Contains("not trusted", error.Message, StringComparison.Ordinal);
        Assert.Equal(CertificateFingerprint.Of(certificate), error.Fingerprint);

        var rightPin = new SxpEndpoint("127.0.0.1", _server.SxpPort, new ServerTrust(CertificateFingerprint.Of(certificate)));
        await using var pinned = new SxpClient(rightPin, token);
        await pinned.ConnectAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_system_trust_store_does_not_accept_the_self_signed_certificate()
    {
        var token = await _server.LoginAsync();
        await using var client = new SxpClient(new SxpEndpoint("localhost", _server.SxpPort, ServerTrust.System), token);
        await Assert.ThrowsAsync<UntrustedServerException>(() => client.ConnectAsync(CancellationToken.None));
    }
}

public sealed class CertificateConfigurationTests
{
    [Fact]
    public async Task A_generated_certificate_is_reused_after_a_restart()
    {
        await using var server = await ServerProcess.StartAsync();
        var before = CertificateFingerprint.Of(server.Certificate);
        server.Kill();
        await server.StartAgainAsync();
        Assert.Equal(before, CertificateFingerprint.Of(server.Certificate));
        Assert.NotNull(await server.LoginAsync());
    }
}
