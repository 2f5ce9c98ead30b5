using SecureXfer.Shared.Security;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>The sxfer commands against a real server: JSON shapes, file operations, exit codes, trees.</summary>
public sealed class CliCommandTests(CliServer fixture) : IClassFixture<CliServer>
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Login_with_ca_then_put_get_ls_and_stat_print_the_contract_JSON()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);

        var login = await fixture.LoginAsync(cli);
        Assert.Equal(["expiresAt", "fingerprint", "server", "user"], CliServer.Keys(login));
        Assert.Equal(Server.BaseUrl, login.GetProperty("server").GetString());
        Assert.Equal("admin", login.GetProperty("user").GetString());
        Assert.Equal(CertificateFingerprint.Of(Server.Certificate), login.GetProperty("fingerprint").GetString());
        Assert.True(login.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        var root = CliServer.RemoteRoot();
        var source = home.Combine("source.bin");
        var sha = TestFiles.WriteRandom(source, (3L << 20) + 17);

        var put = await cli.RunAsync("put", source, root + "/up/source.bin", "--json");
        Assert.True(put.ExitCode == 0, put.ToString());
        var putJson = put.Json();
        Assert.Equal(["bytes", "files", "seconds"], CliServer.Keys(putJson));
        var file = Assert.Single(putJson.GetProperty("files").EnumerateArray());
        Assert.Equal(["bytes", "local", "remote", "resumedFrom", "sha256"], CliServer.Keys(file));
        Assert.Equal(source, file.GetProperty("local").GetString());
        Assert.Equal(root + "/up/source.bin", file.GetProperty("remote").GetString());
        Assert.Equal((3L << 20) + 17, file.GetProperty("bytes").GetInt64());
        Assert.Equal(0, file.GetProperty("resumedFrom").GetInt64());
        Assert.Equal(sha, file.GetProperty("sha256").GetString());
        Assert.Equal((3L << 20) + 17, putJson.GetProperty("bytes").GetInt64());
        Assert.True(putJson.GetProperty("seconds").GetDouble() >= 0);

        var back = home.Combine("back.bin");
        var get = await cli.RunAsync("get", root + "/up/source.bin", back, "--json");
        Assert.True(get.ExitCode == 0, get.ToString());
        var getFile = Assert.Single(get.Json().GetProperty("files").EnumerateArray());
        Assert.Equal(sha, getFile.GetProperty("sha256").GetString());
        Assert.Equal(back, getFile.GetProperty("local").GetString());
        Assert.Equal(sha, TestFiles.Sha256(back));

        var ls = await cli.RunAsync("ls", root + "/up", "--json");
        Assert.True(ls.ExitCode == 0, ls.ToString());
        var entry = Assert.Single(ls.Json().GetProperty("entries").EnumerateArray());
        Assert.Equal(["modified", "name", "sha256", "size", "type"], CliServer.Keys(entry));
        Assert.Equal("source.bin", entry.GetProperty("name").GetString());
        Assert.Equal("file", entry.GetProperty("type").GetString());
        Assert.Equal((3L << 20) + 17, entry.GetProperty("size").GetInt64());
        Assert.Equal(sha, entry.GetProperty("sha256").GetString());
        Assert.True(DateTimeOffset.TryParse(entry.GetProperty("modified").GetString(), out _));

        var lsRoot = await cli.RunAsync("ls", root, "--json");
        var dir = Assert.Single(lsRoot.Json().GetProperty("entries").EnumerateArray());
        Assert.Equal("dir", dir.GetProperty("type").GetString());

        var stat = await cli.RunAsync("stat", root + "/up/source.bin", "--json");
        Assert.True(stat.ExitCode == 0, stat.ToString());
        var statJson = stat.Json();
        Assert.Equal(["modified", "name", "sha256", "size", "type"], CliServer.Keys(statJson));
        Assert.Equal(sha, statJson.GetProperty("sha256").GetString());
        Assert.Equal("file", statJson.GetProperty("type").GetString());

        // Human mode: a table on stdout, nothing on stderr.
        var human = await cli.RunAsync("ls", root + "/up");
        Assert.Equal(0, human.ExitCode);
        Assert.Contains("source.bin", human.Stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, human.Stderr);
    }

    [Fact]
    public async Task Global_options_work_before_and_after_the_command()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var root = CliServer.RemoteRoot();
        Assert.Equal(0, (await cli.RunAsync("mkdir", root)).ExitCode);

        var before = await cli.RunAsync("--json", "stat", root);
        var after = await cli.RunAsync("stat", root, "--json");
        Assert.Equal("dir", before.Json().GetProperty("type").GetString());
        Assert.Equal("dir", after.Json().GetProperty("type").GetString());

        // With SXFER_CONFIG pointing at an empty directory, only --config finds the login.
        var elsewhere = new CliRunner(home.Combine("empty-config"), home.Path);
        Assert.Equal(3, (await elsewhere.RunAsync("stat", root)).ExitCode);
        Assert.Equal(0, (await elsewhere.RunAsync("--config", cli.ConfigDir, "stat", root)).ExitCode);
        Assert.Equal(0, (await elsewhere.RunAsync("stat", root, "--config", cli.ConfigDir, "--json")).ExitCode);

        var quietBefore = await cli.RunAsync("--quiet", "mkdir", root + "/q1");
        var quietAfter = await cli.RunAsync("mkdir", root + "/q2", "--quiet", "--no-progress");
        Assert.Equal((0, string.Empty, string.Empty), (quietBefore.ExitCode, quietBefore.Stdout, quietBefore.Stderr));
        Assert.Equal((0, string.Empty, string.Empty), (quietAfter.ExitCode, quietAfter.Stdout, quietAfter.Stderr));
    }

    [Fact]
    public async Task Mkdir_mv_and_rm_change_the_remote_tree()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var root = CliServer.RemoteRoot();

        var mkdir = await cli.RunAsync("mkdir", root + "/a/b", "--json");
        Assert.True(mkdir.ExitCode == 0, mkdir.ToString());
        Assert.True(mkdir.Json().GetProperty("ok").GetBoolean());
        Assert.Equal("dir", (await cli.RunAsync("stat", root + "/a/b", "--json")).Json().GetProperty("type").GetString());

        var local = home.Combine("f.txt");
        File.WriteAllText(local, "hello");
        Assert.Equal(0, (await cli.RunAsync("put", local, root + "/a/b/")).ExitCode);
        Assert.Equal(0, (await cli.RunAsync("stat", root + "/a/b/f.txt")).ExitCode);

        var mv = await cli.RunAsync("mv", root + "/a/b/f.txt", root + "/a/g.txt", "--json");
        Assert.True(mv.ExitCode == 0, mv.ToString());
        Assert.True(mv.Json().GetProperty("ok").GetBoolean());
        Assert.Equal(4, (await cli.RunAsync("stat", root + "/a/b/f.txt")).ExitCode);
        Assert.Equal(5, (await cli.RunAsync("stat", root + "/a/g.txt", "--json")).Json().GetProperty("size").GetInt64());

        // Into an existing directory, by name.
        Assert.Equal(0, (await cli.RunAsync("mv", root + "/a/g.txt", root + "/a/b")).ExitCode);
        Assert.Equal(0, (await cli.RunAsync("stat", root + "/a/b/g.txt")).ExitCode);

        // A non-empty directory needs -r.
        Assert.Equal(5, (await cli.RunAsync("rm", root + "/a")).ExitCode);
        var rm = await cli.RunAsync("rm", "-r", root + "/a", "--json");
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.True(rm.Json().GetProperty("ok").GetBoolean());
        Assert.Equal(4, (await cli.RunAsync("stat", root + "/a")).ExitCode);
    }

    [Fact]
    public async Task Failures_have_their_exit_codes_and_JSON_error_codes()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var root = CliServer.RemoteRoot();

        var missing = await cli.RunAsync("stat", root + "/missing", "--json");
        Assert.Equal(4, missing.ExitCode);
        var error = missing.Json().GetProperty("error");
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));

        var human = await cli.RunAsync("stat", root + "/missing");
        Assert.Equal(4, human.ExitCode);
        Assert.Equal(string.Empty, human.Stdout);
        Assert.Single(human.Stderr.Trim().Split('\n'));

        var local = home.Combine("x.txt");
        File.WriteAllText(local, "x");
        Assert.Equal(0, (await cli.RunAsync("put", local, root + "/one.txt")).ExitCode);
        Assert.Equal(0, (await cli.RunAsync("put", local, root + "/two.txt")).ExitCode);
        var clash = await cli.RunAsync("mv", root + "/one.txt", root + "/two.txt", "--json");
        Assert.Equal(5, clash.ExitCode);
        Assert.Equal("conflict", clash.Json().GetProperty("error").GetProperty("code").GetString());

        var badSize = await cli.RunAsync("put", local, root + "/three.txt", "--chunk-size", "12Q");
        Assert.Equal(2, badSize.ExitCode);
        Assert.Contains("12Q", badSize.Stderr, StringComparison.Ordinal);
        var badSizeJson = await cli.RunAsync("put", local, root + "/three.txt", "--chunk-size", "12Q", "--json");
        Assert.Equal(2, badSizeJson.ExitCode);
        Assert.Equal("usage", badSizeJson.Json().GetProperty("error").GetProperty("code").GetString());

        Assert.Equal(2, (await cli.RunAsync("ls", "--frobnicate")).ExitCode);
        Assert.Equal(2, (await cli.RunAsync("put", local, root + "/x", "--frobnicate")).ExitCode);
        Assert.Equal(2, (await cli.RunAsync("put", local, root + "/x", "--parallel", "17")).ExitCode);
        Assert.Equal(2, (await cli.RunAsync("put", local)).ExitCode);
        Assert.Equal(2, (await cli.RunAsync("frobnicate")).ExitCode);
        Assert.Equal(4, (await cli.RunAsync("stat", root + "/three.txt")).ExitCode);

        var notThere = await cli.RunAsync("put", home.Combine("nope.bin"), root + "/nope.bin");
        Assert.Equal(4, notThere.ExitCode);
    }

    [Fact]
    public async Task Put_and_get_recursive_reproduce_a_tree_byte_for_byte()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var root = CliServer.RemoteRoot();

        var tree = home.Combine("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub", "deeper"));
        Directory.CreateDirectory(Path.Combine(tree, "empty"));
        TestFiles.WriteRandom(Path.Combine(tree, "top.bin"), 200_000, seed: 1);
        TestFiles.WriteRandom(Path.Combine(tree, "sub", "middle.bin"), 1_500_000, seed: 2);
        TestFiles.WriteRandom(Path.Combine(tree, "sub", "deeper", "zero.bin"), 0, seed: 3);
        File.WriteAllText(Path.Combine(tree, "sub", "deeper", "note's.txt"), "a note\n");

        var withoutR = await cli.RunAsync("put", tree, root);
        Assert.Equal(1, withoutR.ExitCode);
        Assert.Contains("-r", withoutR.Stderr, StringComparison.Ordinal);

        var put = await cli.RunAsync("put", "-r", tree, root, "--json");
        Assert.True(put.ExitCode == 0, put.ToString());
        Assert.Equal(4, put.Json().GetProperty("files").GetArrayLength());
        Assert.Equal(0, (await cli.RunAsync("stat", root + "/tree/empty")).ExitCode);

        var target = home.Combine("copy");
        var get = await cli.RunAsync("get", "-r", root + "/tree", target, "--json");
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(4, get.Json().GetProperty("files").GetArrayLength());

        AssertSameTree(tree, Path.Combine(target, "tree"));
        Assert.Equal(1, (await cli.RunAsync("get", root + "/tree", home.Combine("flat"))).ExitCode);
    }

    private static void AssertSameTree(string expected, string actual)
    {
        static string[] Listing(string rootDir) =>
        [
            .. Directory.EnumerateFileSystemEntries(rootDir, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(rootDir, p) + (Directory.Exists(p) ? "/" : string.Empty))
                .Order(StringComparer.Ordinal),
        ];

        var files = Listing(expected);
        Assert.Equal(files, Listing(actual));
        foreach (var relative in files.Where(f => !f.EndsWith('/')))
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(expected, relative)), File.ReadAllBytes(Path.Combine(actual, relative)));
        }
    }
}

public sealed class CliUrlTests(CliServer fixture) : IClassFixture<CliServer>
{
    [Fact]
    public async Task Sxfer_urls_name_paths_on_the_logged_in_server_and_no_other()
    {
        using var home = new TempDir("sx-url");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var file = home.Combine("u.bin");
        var sha = TestFiles.WriteRandom(file, 100_000);
        var root = CliServer.RemoteRoot();

        var put = await cli.RunAsync("put", file, $"sxfer://127.0.0.1{root}/u.bin", "--json");
        Assert.True(put.ExitCode == 0, put.ToString());
        var stat = await cli.RunAsync("stat", $"sxfer://127.0.0.1:{fixture.Server.SxpPort}{root}/u.bin", "--json");
        Assert.True(stat.ExitCode == 0, stat.ToString());
        Assert.Equal(sha, stat.Json().GetProperty("sha256").GetString());
        var back = home.Combine("back.bin");
        var get = await cli.RunAsync("get", $"sxfer://127.0.0.1{root}/u.bin", back, "--json");
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(sha, TestFiles.Sha256(back));

        var elsewhere = await cli.RunAsync("ls", "sxfer://other.example/", "--json");
        Assert.Equal(3, elsewhere.ExitCode);
        Assert.Equal("not_logged_in", elsewhere.Json().GetProperty("error").GetProperty("code").GetString());
    }
}
