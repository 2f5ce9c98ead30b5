using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

/// <summary>Modification times carried by PUT, chunked uploads and downloads, and set on their own with SET_MODIFIED.</summary>
public sealed class ModifiedTimeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly DateTime Past = new(2021, 3, 4, 5, 6, 7, 891, DateTimeKind.Utc);

    private ServerProcess Server => fixture.Server;

    private string OnServer(string remote) => Path.Combine(Server.UserRoot(Server.Scalar("SELECT id FROM users WHERE username = 'admin'")), remote.TrimStart('/'));

    [Fact]
    public async Task Uploads_keep_the_local_time_and_downloads_the_server_time()
    {
        using var local = new TempDir("sx-mtime");
        await using var client = await Server.ConnectAsync();
        var root = "/m-" + Guid.NewGuid().ToString("N")[..8];

        var small = local.Combine("small.txt");
        File.WriteAllText(small, "small");
        File.SetLastWriteTimeUtc(small, Past);
        await client.PutAsync(small, root + "/small.txt", OverwritePolicy.Replace, CancellationToken.None);

        var large = local.Combine("large.bin");
        var sha = TestFiles.WriteRandom(large, 3L << 20);
        File.SetLastWriteTimeUtc(large, Past.AddDays(1));
        await client.UploadAsync(large, root + "/large.bin", new TransferOptions { ChunkSize = 1 << 20, Parallel = 2 }, null, CancellationToken.None);

        Assert.Equal(Past, File.GetLastWriteTimeUtc(OnServer(root + "/small.txt")));
        Assert.Equal(Past.AddDays(1), File.GetLastWriteTimeUtc(OnServer(root + "/large.bin")));
        var listed = await client.ListAsync(root, CancellationToken.None);
        Assert.Equal([Past.AddDays(1), Past], listed.Select(e => e.Modified.UtcDateTime));
        Assert.All(listed, e => Assert.NotNull(e.Sha256));

        var copy = local.Combine("copy.bin");
        await client.DownloadAsync(root + "/large.bin", copy, new TransferOptions(), null, CancellationToken.None);
        Assert.Equal(Past.AddDays(1), File.GetLastWriteTimeUtc(copy));
        Assert.Equal(sha, TestFiles.Sha256(copy));
    }

    [Fact]
    public async Task Setting_a_time_keeps_the_recorded_hash()
    {
        using var local = new TempDir("sx-mtime");
        await using var client = await Server.ConnectAsync();
        var remote = "/t-" + Guid.NewGuid().ToString("N")[..8] + "/f.bin";
        var file = local.Combine("f.bin");
        var sha = TestFiles.WriteRandom(file, 5000);
        await client.PutAsync(file, remote, OverwritePolicy.Replace, CancellationToken.None);

        var entry = await client.SetModifiedAsync(remote, new DateTimeOffset(Past), CancellationToken.None);
        Assert.Equal(Past, entry!.Modified.UtcDateTime);
        Assert.Equal(sha, entry.Sha256);
        var stat = await client.StatAsync(remote, CancellationToken.None);
        Assert.Equal(sha, stat.Sha256);
        Assert.Equal(Past, File.GetLastWriteTimeUtc(OnServer(remote)));

        // Directories take a time too.
        var directory = await client.SetModifiedAsync(RemoteParent(remote), new DateTimeOffset(Past), CancellationToken.None);
        Assert.Equal(Past, directory!.Modified.UtcDateTime);
        Assert.Equal(Past, Directory.GetLastWriteTimeUtc(Path.GetDirectoryName(OnServer(remote))!));
        Assert.Equal(Past, (await client.StatAsync(RemoteParent(remote), CancellationToken.None)).Modified.UtcDateTime);
    }

    [Fact]
    public async Task Bad_times_and_paths_are_refused_and_change_nothing()
    {
        using var local = new TempDir("sx-mtime");
        await using var client = await Server.ConnectAsync();
        var remote = "/b-" + Guid.NewGuid().ToString("N")[..8] + "/f.txt";
        var file = local.Combine("f.txt");
        File.WriteAllText(file, "content");
        await client.PutAsync(file, remote, OverwritePolicy.Replace, CancellationToken.None);
        var before = File.GetLastWriteTimeUtc(OnServer(remote));

        var tooEarly = await Assert.ThrowsAsync<SxpException>(() => client.SetModifiedAsync(remote, new DateTimeOffset(1500, 1, 1, 0, 0, 0, TimeSpan.Zero), CancellationToken.None));
        Assert.Equal(ErrorCode.BadRequest, tooEarly.Code);
        var tooLate = await Assert.ThrowsAsync<SxpException>(() => client.SetModifiedAsync(remote, new DateTimeOffset(9500, 1, 1, 0, 0, 0, TimeSpan.Zero), CancellationToken.None));
        Assert.Equal(ErrorCode.BadRequest, tooLate.Code);
        Assert.Equal(before, File.GetLastWriteTimeUtc(OnServer(remote)));

        var missing = await Assert.ThrowsAsync<SxpException>(() => client.SetModifiedAsync(remote + ".nope", new DateTimeOffset(Past), CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, missing.Code);
        var escape = await Assert.ThrowsAsync<SxpException>(() => client.SetModifiedAsync("/../../etc/passwd", new DateTimeOffset(Past), CancellationToken.None));
        Assert.Equal(ErrorCode.InvalidPath, escape.Code);

        // The connection is still usable after the refusals.
        Assert.Equal("f.txt", (await client.StatAsync(remote, CancellationToken.None)).Name);
    }

    private static string RemoteParent(string path) => path[..path.LastIndexOf('/')];
}
