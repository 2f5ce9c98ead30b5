using System.Net;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Durability;

/// <summary>
/// The data directory is a small tmpfs the test mounts (the suite runs as root), so uploads
/// really run out of space: the client hears StorageFull, nothing half-written is published,
/// reads go on working, and once the staged upload is aborted there is room again.
/// </summary>
public sealed class DiskFullTests : IAsyncLifetime
{
    private const long MountBytes = 40L << 20;
    private readonly TempDir _local = new("sx-full");
    private readonly ServerProcess _server = new();
    private bool _mounted;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_server.DataDir);
        var (code, _, error) = await Tool.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={MountBytes},mode=0700", "tmpfs", _server.DataDir]);
        Assert.True(code == 0, $"mounting a tmpfs for the full-disk test needs root: {error}");
        _mounted = true;
    }

    public async Task DisposeAsync()
    {
        _server.Kill();
        if (_mounted)
        {
            await Tool.RunAsync("umount", ["-l", _server.DataDir]);
        }

        await _server.DisposeAsync();
        _local.Dispose();
    }

    private Task StartAsync(long reserve) => _server.StartAgainAsync(new Dictionary<string, string>
    {
        ["SecureXfer__StorageReserveBytes"] = reserve.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SecureXfer__MinFreeDiskBytes"] = "0",
    });

    private async Task<string> DownloadShaAsync(SxpClient client, string remote)
    {
        var copy = _local.Combine("copy-" + Guid.NewGuid().ToString("N"));
        var result = await client.DownloadAsync(remote, copy, new TransferOptions(), null, CancellationToken.None);
        Assert.Equal(result.Sha256, TestFiles.Sha256(copy));
        return result.Sha256;
    }

    [Fact]
    public async Task Uploads_stop_at_the_reserve_with_StorageFull_and_logins_and_reads_keep_working()
    {
        await StartAsync(reserve: 8L << 20);
        var kept = _local.Combine("kept.bin");
        var keptSha = TestFiles.WriteRandom(kept, 4L << 20);
        var small = _local.Combine("small.bin");
        // As large as a PUT may be, the same as one chunk: once chunks no longer fit, neither does this.
        var smallSha = TestFiles.WriteRandom(small, SxpLimits.MaxPutSize);
        var huge = _local.Combine("huge.bin");
        TestFiles.WriteRandom(huge, 64L << 20);

        await using (var client = await _server.ConnectAsync())
        {
            await client.UploadAsync(kept, "/kept.bin", new TransferOptions(), null, CancellationToken.None);
            await client.PutAsync(small, "/small.bin", OverwritePolicy.Replace, CancellationToken.None);

            var chunked = await Assert.ThrowsAsync<SxpException>(() => client.UploadAsync(huge, "/huge.bin", new TransferOptions { ChunkSize = 1 << 20 }, null, CancellationToken.None));
            Assert.Equal(ErrorCode.StorageFull, chunked.Code);
        }

        // Small whole-file uploads meet the same wall, with the same answer, and leave nothing behind.
        // (A fresh connection: the failed upload may have cut its own connection mid-write.)
        await using (var client = await _server.ConnectAsync())
        {
            var put = await Assert.ThrowsAsync<SxpException>(() => client.PutAsync(small, "/small-2.bin", OverwritePolicy.Replace, CancellationToken.None));
            Assert.Equal(ErrorCode.StorageFull, put.Code);
        }

        Assert.False(File.Exists(Path.Combine(_server.UserRoot(1), "huge.bin")));
        Assert.False(File.Exists(Path.Combine(_server.UserRoot(1), "small-2.bin")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_server.DataDir, "staging"), "put-*"));

        using var rest = new RestClient(_server, await _server.LoginAsync());
        var refused = await rest.SendAsync(HttpMethod.Put, "/api/v1/files/content?path=/rest.bin", null, r => r.Content = new ByteArrayContent(new byte[1 << 20]));
        Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);

        // A new login, listing, stat and download still work: the reserve kept room for them.
        await using (var reader = await _server.ConnectAsync())
        {
            var names = (await reader.ListAsync("/", CancellationToken.None)).Select(e => e.Name).ToList();
            Assert.Equal(["kept.bin", "small.bin"], names);
            Assert.Equal(keptSha, (await reader.StatAsync("/kept.bin", CancellationToken.None)).Sha256);
            Assert.Equal(keptSha, await DownloadShaAsync(reader, "/kept.bin"));
        }

        // The partial upload stays staged (it can resume when there is room) and its owner sees
        // it and can abort it, which frees the space for the next upload.
        var uploads = await RestClient.ExpectAsync(await rest.GetAsync("/api/v1/uploads"), HttpStatusCode.OK);
        var staged = uploads.GetProperty("items").EnumerateArray().Single(u => u.GetProperty("path").GetString() == "/huge.bin");
        await RestClient.ExpectAsync(await rest.DeleteAsync($"/api/v1/uploads/{staged.GetProperty("id").GetString()}"), HttpStatusCode.NoContent);

        await using (var client = await _server.ConnectAsync())
        {
            Assert.Equal(smallSha, (await client.PutAsync(small, "/small-2.bin", OverwritePolicy.Replace, CancellationToken.None)).Sha256);
        }
    }

    [Fact]
    public async Task A_disk_filled_to_the_last_byte_gets_507_not_a_server_error_and_open_sessions_still_read()
    {
        await StartAsync(reserve: 0);
        var kept = _local.Combine("kept.bin");
        var keptSha = TestFiles.WriteRandom(kept, 2L << 20);
        await using var reader = await _server.ConnectAsync();
        await reader.UploadAsync(kept, "/kept.bin", new TransferOptions(), null, CancellationToken.None);

        // Something else fills the file system completely.
        var filler = Path.Combine(_server.DataDir, "filler");
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var stream = File.Create(filler);
            var block = new byte[1 << 20];
            while (true)
            {
                await stream.WriteAsync(block);
                await stream.FlushAsync();
            }
        });

        var login = await _server.PostLoginAsync("admin", ServerProcess.AdminPassword);
        Assert.True(login.StatusCode is HttpStatusCode.OK or HttpStatusCode.InsufficientStorage, $"login answered {(int)login.StatusCode}");
        var body = await login.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Sqlite", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);

        Assert.Equal(keptSha, await DownloadShaAsync(reader, "/kept.bin"));
        Assert.Single(await reader.ListAsync("/", CancellationToken.None));

        File.Delete(filler);
        Assert.Equal(HttpStatusCode.OK, (await _server.PostLoginAsync("admin", ServerProcess.AdminPassword)).StatusCode);
    }
}
