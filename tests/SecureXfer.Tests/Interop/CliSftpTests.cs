using SecureXfer.Tests.Cli;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Interop;

/// <summary><c>sxfer put|get|ls|sync</c> with sftp:// URLs, against OpenSSH's sshd and the SecureXfer server.</summary>
public sealed class CliSftpTests(CliServer fixture, SshPeer peer) : IClassFixture<CliServer>, IClassFixture<SshPeer>
{
    private string Url(string path) => $"sftp://{TestAccount.User}@127.0.0.1:{peer.Server.Port}/~/{path}";

    private async Task<CliResult> RunAsync(CliRunner cli, params string[] args) =>
        await cli.RunAsync([.. args, "--host-key", peer.Server.HostKeyFingerprint, "--password-stdin", "--json"], TestAccount.Password + "\n", TimeSpan.FromSeconds(120));

    [Fact]
    public async Task Put_ls_get_and_sync_work_against_an_sftp_server()
    {
        using var home = new TempDir("sx-cli-sftp");
        var cli = CliServer.Runner(home);
        var root = await TestAccount.NewDirectoryAsync();
        Directory.CreateDirectory(home.Combine("tree", "sub"));
        File.WriteAllText(home.Combine("tree", "a.txt"), "alpha");
        var sha = TestFiles.WriteRandom(home.Combine("tree", "sub", "big.bin"), 6L << 20);

        var put = await RunAsync(cli, "put", "-r", "./tree", Url(root + "/up/"));
        Assert.True(put.ExitCode == 0, put.ToString());
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(TestAccount.Home, root, "up", "tree", "sub", "big.bin")));

        var list = await RunAsync(cli, "ls", Url(root + "/up/tree"));
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(["a.txt", "sub"], list.Json().GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        var get = await RunAsync(cli, "get", "-r", Url(root + "/up/tree"), "./back/");
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(sha, TestFiles.Sha256(home.Combine("back", "tree", "sub", "big.bin")));

        // A key file instead of a password, and the absolute form of the path.
        var absolute = $"sftp://{TestAccount.User}@127.0.0.1:{peer.Server.Port}{TestAccount.Home}/{root}/mirror";
        var first = await cli.RunAsync(["sync", "./tree", absolute, "--identity", peer.Server.ClientKey, "--known-hosts", peer.Server.KnownHostsFile, "--json"], stdin: null, TimeSpan.FromSeconds(120));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(2, first.Json().GetProperty("copied").GetInt32());
        var second = await RunAsync(cli, "sync", "./tree", Url(root + "/mirror"));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal((0, 0, 2), (second.Json().GetProperty("copied").GetInt32(), second.Json().GetProperty("updated").GetInt32(), second.Json().GetProperty("unchanged").GetInt32()));
    }

    [Fact]
    public async Task A_sync_from_sftp_to_the_SecureXfer_server_and_back_works()
    {
        using var home = new TempDir("sx-cli-sftp");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var root = await TestAccount.NewDirectoryAsync();
        Directory.CreateDirectory(Path.Combine(TestAccount.Home, root, "outbox", "d"));
        File.WriteAllText(Path.Combine(TestAccount.Home, root, "outbox", "d", "x.txt"), "from the partner");

        var remote = CliServer.RemoteRoot();
        var relay = await RunAsync(cli, "sync", Url(root + "/outbox"), remote);
        Assert.True(relay.ExitCode == 0, relay.ToString());
        Assert.Equal(1, relay.Json().GetProperty("copied").GetInt32());
        Assert.Equal(0, (await RunAsync(cli, "sync", Url(root + "/outbox"), remote)).Json().GetProperty("copied").GetInt32());

        var back = await RunAsync(cli, "sync", remote, Url(root + "/inbox"));
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal("from the partner", File.ReadAllText(Path.Combine(TestAccount.Home, root, "inbox", "d", "x.txt")));
    }

    [Fact]
    public async Task Unknown_host_keys_and_wrong_passwords_are_refused_with_clear_messages()
    {
        using var home = new TempDir("sx-cli-sftp");
        var cli = CliServer.Runner(home);
        cli.Environment["HOME"] = home.Path;

        var unknown = await cli.RunAsync(["ls", Url(string.Empty), "--password-stdin", "--json"], TestAccount.Password + "\n");
        Assert.Equal(1, unknown.ExitCode);
        var error = unknown.Json().GetProperty("error");
        Assert.Equal("untrusted_server", error.GetProperty("code").GetString());
        Assert.Equal(peer.Server.HostKeyFingerprint, error.GetProperty("fingerprint").GetString());
        Assert.Contains("--host-key", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        var wrong = await cli.RunAsync(["ls", Url(string.Empty), "--host-key", peer.Server.HostKeyFingerprint, "--password-stdin", "--json"], "not-the-password\n");
        Assert.Equal(3, wrong.ExitCode);
        Assert.DoesNotContain("not-the-password", wrong.Stdout + wrong.Stderr, StringComparison.Ordinal);
    }
}
