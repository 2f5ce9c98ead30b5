using System.Net;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;
using SecureXfer.Tests.Transfers;

namespace SecureXfer.Tests.Rest;

/// <summary>Uploads in progress over REST: listed with their progress, visible only to their owner (and admins), abortable.</summary>
public sealed class UploadApiTests : IAsyncLifetime
{
    private const long Size = 32L << 20;

    private readonly TempDir _local = new("sx-uploads");
    private ServerProcess _server = null!;

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _local.Dispose();
    }

    /// <summary>Starts an upload as <paramref name="user"/> and drops it once about half has been confirmed.</summary>
    private async Task AbandonedUploadAsync(string user, string password, string remote)
    {
        var source = _local.Combine(user + ".bin");
        TestFiles.WriteRandom(source, Size);
        using var stop = new CancellationTokenSource();
        var progress = new SyncProgress(bytes =>
        {
            if (bytes >= Size / 2)
            {
                stop.Cancel();
            }
        });
        await using var client = await _server.ConnectAsync(user, password);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.UploadAsync(source, remote, new TransferOptions { ChunkSize = 1 << 20, RateLimit = 16L << 20 }, progress, stop.Token));
    }

    [Fact]
    public async Task An_owner_sees_the_progress_of_an_abandoned_upload_and_aborts_it_freeing_its_staged_data()
    {
        await _server.AddUserAsync("olga", "olga-password", quotaBytes: 40L << 20);
        await _server.AddUserAsync("pete", "pete-password");
        await AbandonedUploadAsync("olga", "olga-password", "/half.bin");
        using var olga = await RestClient.AsAsync(_server, "olga", "olga-password");
        using var pete = await RestClient.AsAsync(_server, "pete", "pete-password");
        using var admin = new RestClient(_server, await _server.LoginAsync());

        JsonElementList items = default;
        for (var i = 0; i < 50; i++)
        {
            var list = await RestClient.ExpectAsync(await olga.GetAsync("/api/v1/uploads"), HttpStatusCode.OK);
            items = new JsonElementList(list.GetProperty("items"));
            if (items.Count == 1 && items[0].GetProperty("chunksReceived").GetInt32() > 0 && !items[0].GetProperty("active").GetBoolean())
            {
                break;
            }

            await Task.Delay(100);
        }

        var upload = Assert.Single(items.All);
        Assert.Equal("/half.bin", upload.GetProperty("path").GetString());
        Assert.Equal(Size, upload.GetProperty("size").GetInt64());
        Assert.Equal(32, upload.GetProperty("chunkCount").GetInt32());
        Assert.InRange(upload.GetProperty("chunksReceived").GetInt32(), 1, 32);
        var id = upload.GetProperty("id").GetString()!;

        // Not pete's to see or abort; an admin sees everyone's.
        Assert.Empty(new JsonElementList((await RestClient.ExpectAsync(await pete.GetAsync("/api/v1/uploads"), HttpStatusCode.OK)).GetProperty("items")).All);
        await RestClient.ExpectAsync(await pete.GetAsync($"/api/v1/uploads/{id}"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await pete.DeleteAsync($"/api/v1/uploads/{id}"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await pete.GetAsync("/api/v1/uploads?all=true"), HttpStatusCode.Forbidden);
        var everyone = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/uploads?all=true"), HttpStatusCode.OK);
        Assert.Single(new JsonElementList(everyone.GetProperty("items")).All);

        // The reservation counts against the quota until the abort.
        using (var source = new TempDir("sx-quota-probe"))
        {
            var small = source.Combine("small.bin");
            TestFiles.WriteRandom(small, 10L << 20);
            await using var client = await _server.ConnectAsync("olga", "olga-password");
            var refused = await Assert.ThrowsAsync<SecureXfer.Shared.Protocol.SxpException>(() => client.UploadAsync(small, "/other.bin", new TransferOptions(), null, CancellationToken.None));
            Assert.Equal(SecureXfer.Shared.Protocol.ErrorCode.QuotaExceeded, refused.Code);

            await RestClient.ExpectAsync(await olga.DeleteAsync($"/api/v1/uploads/{id}"), HttpStatusCode.NoContent);
            Assert.False(File.Exists(Path.Combine(_server.DataDir, "staging", id + ".part")));
            Assert.Equal(0L, _server.Scalar("SELECT count(*) FROM upload_sessions"));
            await client.UploadAsync(small, "/other.bin", new TransferOptions(), null, CancellationToken.None);
        }

        await RestClient.ExpectAsync(await olga.GetAsync($"/api/v1/uploads/{id}"), HttpStatusCode.NotFound);
    }

    /// <summary>A JSON array as a list, for the assertions above.</summary>
    private readonly struct JsonElementList(System.Text.Json.JsonElement array)
    {
        public List<System.Text.Json.JsonElement> All => array.ValueKind == System.Text.Json.JsonValueKind.Array ? [.. array.EnumerateArray()] : [];

        public int Count => All.Count;

        public System.Text.Json.JsonElement this[int index] => All[index];
    }
}
