using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

public sealed class QuotaTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly ServerProcess _server = fixture.Server;
    private readonly TempDir _local = new("sx-quota");

    public void Dispose() => _local.Dispose();

    [Fact]
    public async Task Two_concurrent_uploads_that_together_pass_the_quota_cannot_both_start()
    {
        await _server.AddUserAsync("erin", "erin-password", quotaBytes: 10L << 20);
        var a = _local.Combine("a");
        var b = _local.Combine("b");
        TestFiles.WriteRandom(a, 6L << 20);
        TestFiles.WriteRandom(b, 6L << 20);
        await using var first = await _server.ConnectAsync("erin", "erin-password");
        await using var second = await _server.ConnectAsync("erin", "erin-password");

        var uploads = new[]
        {
            first.UploadAsync(a, "/a", new TransferOptions { RateLimit = 8L << 20 }, null, CancellationToken.None),
            second.UploadAsync(b, "/b", new TransferOptions { RateLimit = 8L << 20 }, null, CancellationToken.None),
        };
        var outcomes = await Task.WhenAll(uploads.Select(async u =>
        {
            try
            {
                await u;
                return (ErrorCode?)null;
            }
            catch (SxpException ex)
            {
                return ex.Code;
            }
        }));

        Assert.Single(outcomes, o => o is null);
        Assert.Single(outcomes, o => o == ErrorCode.QuotaExceeded);
        Assert.Equal(6L << 20, _server.Scalar("SELECT sum(size) FROM files f JOIN users u ON u.id = f.owner_id WHERE u.username = 'erin'"));
        Assert.Equal(0, _server.Scalar("SELECT count(*) FROM upload_sessions s JOIN users u ON u.id = s.owner_id WHERE u.username = 'erin'"));
    }

    [Fact]
    public async Task Replacing_a_file_counts_only_the_difference()
    {
        await _server.AddUserAsync("frank", "frank-password", quotaBytes: 10L << 20);
        var big = _local.Combine("big");
        TestFiles.WriteRandom(big, 7L << 20);
        await using var client = await _server.ConnectAsync("frank", "frank-password");
        await client.UploadAsync(big, "/big", new TransferOptions(), null, CancellationToken.None);

        var bigger = _local.Combine("bigger");
        TestFiles.WriteRandom(bigger, 9L << 20);
        await client.UploadAsync(bigger, "/big", new TransferOptions(), null, CancellationToken.None);

        var error = await Assert.ThrowsAsync<SxpException>(() => client.UploadAsync(big, "/other", new TransferOptions(), null, CancellationToken.None));
        Assert.Equal(ErrorCode.QuotaExceeded, error.Code);
        Assert.Contains("quota", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_user_with_a_quota_can_replace_a_small_file_with_PUT()
    {
        await _server.AddUserAsync("gina", "gina-password", quotaBytes: 10L << 20);
        var first = _local.Combine("first");
        var second = _local.Combine("second");
        TestFiles.WriteRandom(first, 3000);
        var sha = TestFiles.WriteRandom(second, 5000);
        await using var client = await _server.ConnectAsync("gina", "gina-password");
        await client.PutAsync(first, "/same.txt", OverwritePolicy.Replace, CancellationToken.None);
        var replaced = await client.PutAsync(second, "/same.txt", OverwritePolicy.Replace, CancellationToken.None);

        Assert.Equal(sha, replaced.Sha256);
        Assert.Equal(sha, (await client.StatAsync("/same.txt", CancellationToken.None)).Sha256);
        Assert.Equal(5000, _server.Scalar("SELECT sum(size) FROM files f JOIN users u ON u.id = f.owner_id WHERE u.username = 'gina'"));
    }
}
