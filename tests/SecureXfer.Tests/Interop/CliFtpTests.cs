using System.Text.Json;
using SecureXfer.Tests.Cli;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Interop;

/// <summary>A real vsftpd requiring explicit FTPS with TLS session reuse, for the CLI tests.</summary>
public sealed class FtpsPeer : IAsyncLifetime
{
    public VsftpdServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await VsftpdServer.StartAsync(tls: true);

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>The body of <c>POST /api/v1/remotes</c> for this peer, its certificate pinned unless <paramref name="pinned"/> is false.</summary>
    public Dictionary<string, object> RemoteBody(string name, bool pinned = true)
    {
        var body = new Dictionary<string, object>
        {
            ["name"] = name,
            ["kind"] = "ftps",
            ["host"] = "127.0.0.1",
            ["port"] = Server.Port,
            ["user"] = TestAccount.User,
            ["password"] = TestAccount.Password,
            ["tlsName"] = "localhost",
        };
        if (pinned)
        {
            body["tlsFingerprint"] = Shared.Security.CertificateFingerprint.Of(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Server.CertificatePath));
        }

        return body;
    }
}

/// <summary><c>sxfer put|get|ls|sync</c> with ftps:// URLs on either side, against vsftpd and the SecureXfer server.</summary>
public sealed class CliFtpTests(CliServer fixture, FtpsPeer peer) : IClassFixture<CliServer>, IClassFixture<FtpsPeer>
{
    private string Url(string path) => $"ftps://{VsftpdServer.User}@localhost:{peer.Server.Port}/{path}";

    private string[] Trust => ["--ca", peer.Server.CertificatePath, "--password-stdin"];

    private static string Stdin => VsftpdServer.Password + "\n";

    private async Task<CliResult> RunAsync(CliRunner cli, params string[] args) =>
        await cli.RunAsync([.. args, .. Trust, "--json"], Stdin, TimeSpan.FromSeconds(120));

    [Fact]
    public async Task Put_ls_get_and_sync_work_against_an_ftps_server()
    {
        using var home = new TempDir("sx-cli-ftp");
        var cli = CliServer.Runner(home);
        var root = await VsftpdServer.NewDirectoryAsync();
        var tree = home.Combine("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "a.txt"), "alpha");
        var sha = TestFiles.WriteRandom(Path.Combine(tree, "sub", "big.bin"), 6L << 20);

        var put = await RunAsync(cli, "put", "-r", "./tree", Url(root + "/up/"));
        Assert.True(put.ExitCode == 0, put.ToString());
        Assert.Equal(2, put.Json().GetProperty("files").GetArrayLength());
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(VsftpdServer.Home, root, "up", "tree", "sub", "big.bin")));

        var list = await RunAsync(cli, "ls", Url(root + "/up/tree"));
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(["a.txt", "sub"], list.Json().GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        var get = await RunAsync(cli, "get", "-r", Url(root + "/up/tree"), "./back/");
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(sha, TestFiles.Sha256(home.Combine("back", "tree", "sub", "big.bin")));

        var first = await RunAsync(cli, "sync", "./tree", Url(root + "/mirror"));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(2, first.Json().GetProperty("copied").GetInt32());
        var second = await RunAsync(cli, "sync", "./tree", Url(root + "/mirror"));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal((0, 0, 2), (second.Json().GetProperty("copied").GetInt32(), second.Json().GetProperty("updated").GetInt32(), second.Json().GetProperty("unchanged").GetInt32()));

        var down = await RunAsync(cli, "sync", Url(root + "/mirror"), "./down");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Equal("alpha", File.ReadAllText(home.Combine("down", "a.txt")));
        Assert.Equal(0, (await RunAsync(cli, "sync", Url(root + "/mirror"), "./down")).Json().GetProperty("copied").GetInt32());
    }

    [Fact]
    public async Task A_sync_from_ftps_to_the_SecureXfer_server_relays_through_this_machine()
    {
        using var home = new TempDir("sx-cli-ftp");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var root = await VsftpdServer.NewDirectoryAsync();
        Directory.CreateDirectory(home.Combine("tree", "d"));
        File.WriteAllText(home.Combine("tree", "d", "x.txt"), "from the partner");
        Assert.Equal(0, (await RunAsync(cli, "sync", "./tree", Url(root + "/outbox"))).ExitCode);

        var remote = CliServer.RemoteRoot();
        var relay = await RunAsync(cli, "sync", Url(root + "/outbox"), remote);
        Assert.True(relay.ExitCode == 0, relay.ToString());
        Assert.Equal(1, relay.Json().GetProperty("copied").GetInt32());
        var stat = await cli.RunAsync("stat", remote + "/d/x.txt", "--json");
        Assert.Equal(16, stat.Json().GetProperty("size").GetInt64());
        Assert.Equal(0, (await RunAsync(cli, "sync", Url(root + "/outbox"), remote)).Json().GetProperty("copied").GetInt32());
    }

    [Fact]
    public async Task Wrong_passwords_untrusted_certificates_and_passwords_in_urls_are_refused()
    {
        using var home = new TempDir("sx-cli-ftp");
        var cli = CliServer.Runner(home);

        var wrong = await cli.RunAsync(["ls", Url(string.Empty), "--ca", peer.Server.CertificatePath, "--password-stdin", "--json"], "not-the-password\n");
        Assert.Equal(3, wrong.ExitCode);
        Assert.Equal("auth_failed", wrong.Json().GetProperty("error").GetProperty("code").GetString());

        var untrusted = await cli.RunAsync(["ls", Url(string.Empty), "--password-stdin", "--json"], Stdin);
        Assert.Equal(1, untrusted.ExitCode);
        var error = untrusted.Json().GetProperty("error");
        Assert.Equal("untrusted_server", error.GetProperty("code").GetString());
        var fingerprint = error.GetProperty("fingerprint").GetString()!;
        Assert.DoesNotContain(VsftpdServer.Password, untrusted.Stdout + untrusted.Stderr, StringComparison.Ordinal);

        // The fingerprint it printed is what pins the server.
        var pinned = await cli.RunAsync(["ls", Url(string.Empty), "--fingerprint", fingerprint, "--password-stdin", "--json"], Stdin);
        Assert.True(pinned.ExitCode == 0, pinned.ToString());

        var inUrl = await cli.RunAsync("ls", $"ftps://{VsftpdServer.User}:secret@localhost:{peer.Server.Port}/", "--json");
        Assert.Equal(2, inUrl.ExitCode);
        Assert.Contains("password", inUrl.Json().GetProperty("error").GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);

        // --insecure is the explicit opt-out: encrypted, not authenticated.
        var insecure = await cli.RunAsync(["ls", Url(string.Empty), "--insecure", "--password-stdin", "--json"], Stdin);
        Assert.True(insecure.ExitCode == 0, insecure.ToString());

        // The password also comes from the environment; never from a flag.
        cli.Environment["SXFER_REMOTE_PASSWORD"] = VsftpdServer.Password;
        var fromEnvironment = await cli.RunAsync("ls", Url(string.Empty), "--ca", peer.Server.CertificatePath, "--json");
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());
    }
}
