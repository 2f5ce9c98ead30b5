using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

public sealed class RoundTripTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly ServerProcess _server = fixture.Server;
    private readonly TempDir _local = new("sx-local");

    public void Dispose() => _local.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task A_100_MiB_random_file_goes_up_and_comes_back_with_the_same_SHA256(int parallel)
    {
        var source = _local.Combine("source.bin");
        var sha = TestFiles.WriteRandom(source, 100L << 20);
        await using var client = await _server.ConnectAsync();
        var options = new TransferOptions { Parallel = parallel };

        var up = await client.UploadAsync(source, "/big/source.bin", options, null, CancellationToken.None);
        Assert.Equal(sha, up.Sha256);
        Assert.Equal(100L << 20, up.BytesSent);
        Assert.Equal(0, up.ResumedFrom);

        var stat = await client.StatAsync("/big/source.bin", CancellationToken.None);
        Assert.Equal(sha, stat.Sha256);
        Assert.Equal(100L << 20, stat.Size);

        var target = _local.Combine("back.bin");
        var down = await client.DownloadAsync("/big/source.bin", target, options, null, CancellationToken.None);
        Assert.Equal(sha, down.Sha256);
        Assert.Equal(sha, TestFiles.Sha256(target));
        Assert.False(File.Exists(target + ".sxpart"));
    }

    [Fact]
    public async Task Empty_and_odd_sized_files_round_trip()
    {
        await using var client = await _server.ConnectAsync();
        foreach (var size in new long[] { 0, 1, 65_537, (4L << 20) + 3 })
        {
            var source = _local.Combine($"f{size}.bin");
            var sha = TestFiles.WriteRandom(source, size);
            await client.UploadAsync(source, $"/odd/f{size}.bin", new TransferOptions { ChunkSize = 64 * 1024 }, null, CancellationToken.None);
            var back = _local.Combine($"b{size}.bin");
            var result = await client.DownloadAsync($"/odd/f{size}.bin", back, new TransferOptions(), null, CancellationToken.None);
            Assert.Equal(sha, result.Sha256);
            Assert.Equal(sha, TestFiles.Sha256(back));
        }

        var listing = await client.ListAsync("/odd", CancellationToken.None);
        Assert.Equal(4, listing.Count);
        Assert.All(listing, e => Assert.NotNull(e.Sha256));
    }

    [Fact]
    public async Task Files_can_be_listed_moved_and_removed()
    {
        await using var client = await _server.ConnectAsync();
        var source = _local.Combine("a.txt");
        TestFiles.WriteRandom(source, 1000);
        await client.MkdirAsync("/docs/deep", CancellationToken.None);
        await client.UploadAsync(source, "/docs/a.txt", new TransferOptions(), null, CancellationToken.None);

        var moved = await client.MoveAsync("/docs/a.txt", "/docs/deep/b.txt", false, CancellationToken.None);
        Assert.NotNull(moved);
        Assert.NotNull(moved!.Sha256);

        var error = await Assert.ThrowsAsync<SxpException>(() => client.StatAsync("/docs/a.txt", CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, error.Code);

        await client.MoveAsync("/docs", "/papers", false, CancellationToken.None);
        var entry = await client.StatAsync("/papers/deep/b.txt", CancellationToken.None);
        Assert.NotNull(entry.Sha256);

        var notEmpty = await Assert.ThrowsAsync<SxpException>(() => client.RemoveAsync("/papers", false, CancellationToken.None));
        Assert.Equal(ErrorCode.Conflict, notEmpty.Code);
        await client.RemoveAsync("/papers", true, CancellationToken.None);
        Assert.DoesNotContain(await client.ListAsync("/", CancellationToken.None), e => e.Name == "papers");
        Assert.Equal(0, _server.Scalar("SELECT count(*) FROM files WHERE path LIKE '/papers/%'"));
    }

    [Fact]
    public async Task An_existing_file_is_kept_when_the_upload_says_fail_on_conflict()
    {
        await using var client = await _server.ConnectAsync();
        var first = _local.Combine("one");
        var sha = TestFiles.WriteRandom(first, 5000);
        await client.UploadAsync(first, "/x", new TransferOptions(), null, CancellationToken.None);
        var second = _local.Combine("two");
        TestFiles.WriteRandom(second, 7000);

        var error = await Assert.ThrowsAsync<SxpException>(() => client.UploadAsync(second, "/x", new TransferOptions { Overwrite = OverwritePolicy.Fail }, null, CancellationToken.None));
        Assert.Equal(ErrorCode.Conflict, error.Code);
        Assert.Equal(sha, (await client.StatAsync("/x", CancellationToken.None)).Sha256);
    }
}
