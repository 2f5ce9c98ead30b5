using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

public sealed class PathEscapeTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly ServerProcess _server = fixture.Server;
    private readonly TempDir _local = new("sx-paths");

    public void Dispose() => _local.Dispose();

    public static TheoryData<string> Escapes => new()
    {
        "..",
        "../x",
        "/../x",
        "/a/../../x",
        "a/../../../etc/passwd",
        "/./../x",
        "..\\..\\etc\\passwd",
        "/a\\..\\b",
        "a\0b",
        "/etc/passwd\0.txt",
        "/line\nbreak",
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task Traversal_backslash_NUL_and_control_characters_are_refused_on_every_operation(string path)
    {
        await using var client = await _server.ConnectAsync();
        var source = _local.Combine("payload");
        await File.WriteAllTextAsync(source, "payload");
        var target = _local.Combine("target");

        await AssertInvalid(() => client.StatAsync(path, CancellationToken.None));
        await AssertInvalid(() => client.ListAsync(path, CancellationToken.None));
        await AssertInvalid(() => client.MkdirAsync(path, CancellationToken.None));
        await AssertInvalid(() => client.RemoveAsync(path, true, CancellationToken.None));
        await AssertInvalid(() => client.MoveAsync("/nothing", path, true, CancellationToken.None));
        await AssertInvalid(() => client.UploadAsync(source, path, new TransferOptions(), null, CancellationToken.None));
        await AssertInvalid(() => client.DownloadAsync(path, target, new TransferOptions(), null, CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(_server.DataDir, "files", "x")));
        Assert.False(File.Exists(Path.Combine(_server.DataDir, "x")));
    }

    [Fact]
    public async Task Absolute_paths_are_inside_the_users_root()
    {
        await using var client = await _server.ConnectAsync();
        var error = await Assert.ThrowsAsync<SxpException>(() => client.StatAsync("/etc/passwd", CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, error.Code);

        var source = _local.Combine("abs");
        await File.WriteAllTextAsync(source, "inside");
        await client.UploadAsync(source, "//tmp//abs-escape", new TransferOptions(), null, CancellationToken.None);
        Assert.False(File.Exists("/tmp/abs-escape"));
        Assert.True(File.Exists(Path.Combine(_server.UserRoot(1), "tmp", "abs-escape")));
    }

    [Fact]
    public async Task Symbolic_links_inside_a_root_are_never_followed_or_listed()
    {
        var bob = await _server.AddUserAsync("bob-links", "bob-password-1");
        var root = _server.UserRoot(bob);
        Directory.CreateDirectory(root);
        File.CreateSymbolicLink(Path.Combine(root, "etc-link"), "/etc");
        File.CreateSymbolicLink(Path.Combine(root, "passwd-link"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(root, "admin-files"), _server.UserRoot(1));

        await using var client = await _server.ConnectAsync("bob-links", "bob-password-1");
        var target = _local.Combine("stolen");
        var source = _local.Combine("planted");
        await File.WriteAllTextAsync(source, "planted");

        await AssertInvalid(() => client.StatAsync("/etc-link/passwd", CancellationToken.None));
        await AssertInvalid(() => client.DownloadAsync("/passwd-link", target, new TransferOptions(), null, CancellationToken.None));
        await AssertInvalid(() => client.DownloadAsync("/etc-link/hostname", target, new TransferOptions(), null, CancellationToken.None));
        await AssertInvalid(() => client.ListAsync("/admin-files", CancellationToken.None));
        await AssertInvalid(() => client.UploadAsync(source, "/admin-files/planted", new TransferOptions(), null, CancellationToken.None));
        await AssertInvalid(() => client.MkdirAsync("/etc-link/new", CancellationToken.None));
        await AssertInvalid(() => client.MoveAsync("/passwd-link/x", "/y", false, CancellationToken.None));
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(Path.Combine(_server.UserRoot(1), "planted")));

        var listing = await client.ListAsync("/", CancellationToken.None);
        Assert.Empty(listing);
    }

    [Fact]
    public async Task Users_cannot_reach_each_others_files()
    {
        await _server.AddUserAsync("carol", "carol-password");
        await _server.AddUserAsync("dave", "dave-password");
        await using var carol = await _server.ConnectAsync("carol", "carol-password");
        await using var dave = await _server.ConnectAsync("dave", "dave-password");
        var source = _local.Combine("secret");
        await File.WriteAllTextAsync(source, "carol's secret");
        await carol.UploadAsync(source, "/secret.txt", new TransferOptions(), null, CancellationToken.None);

        var error = await Assert.ThrowsAsync<SxpException>(() => dave.StatAsync("/secret.txt", CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Empty(await dave.ListAsync("/", CancellationToken.None));
    }

    [Fact]
    public async Task Unicode_paths_are_normalised_so_one_name_means_one_file()
    {
        await using var client = await _server.ConnectAsync();
        var source = _local.Combine("u");
        await File.WriteAllTextAsync(source, "café");
        await client.UploadAsync(source, "/unicode/cafe\u0301.txt", new TransferOptions(), null, CancellationToken.None);
        var composed = await client.StatAsync("/unicode/caf\u00e9.txt", CancellationToken.None);
        Assert.Equal("caf\u00e9.txt", composed.Name);
    }

    private static async Task AssertInvalid(Func<Task> operation)
    {
        var error = await Assert.ThrowsAsync<SxpException>(operation);
        Assert.Equal(ErrorCode.InvalidPath, error.Code);
    }
}
