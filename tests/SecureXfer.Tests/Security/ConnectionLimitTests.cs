using System.Net;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>Peers that are slow, silent or greedy: deadlines and limits, with short settings so the tests stay quick.</summary>
public sealed class ConnectionLimitTests : IAsyncLifetime
{
    private ServerProcess _server = null!;

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["SecureXfer__SxpAuthTimeout"] = "00:00:02",
        ["SecureXfer__SxpIdleTimeout"] = "00:00:02",
        ["SecureXfer__HeldChunksPerFrame"] = "4",
        ["SecureXfer__LoginsPerMinute"] = "100000",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Dripping_an_AUTH_frame_byte_by_byte_does_not_extend_the_authentication_deadline()
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(1, "slow"), SxpJsonContext.Default.HelloRequest);
        await raw.ReadAsync();
        await raw.SendHeaderAsync(1000, FrameType.Auth, 2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var closed = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(8) && !closed)
        {
            try
            {
                await raw.SendBytesAsync(new byte[] { (byte)'x' });
            }
            catch (IOException)
            {
                closed = true;
            }

            await Task.Delay(300);
        }

        Assert.True(closed || await raw.IsClosedAsync(), "the connection should be closed at the deadline");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task A_peer_that_stops_reading_a_download_is_disconnected()
    {
        using var dir = new TempDir("sx-stall");
        var file = dir.Combine("big");
        TestFiles.WriteRandom(file, 64L << 20);
        var token = await _server.LoginAsync();
        await using (var client = new SxpClient(_server.Endpoint, token))
        {
            await client.UploadAsync(file, "/stall.bin", new TransferOptions(), null, CancellationToken.None);
        }

        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, token);
        await raw.SendAsync(FrameType.DownloadOpen, 5, new DownloadOpenRequest("/stall.bin", 0, -1), SxpJsonContext.Default.DownloadOpenRequest);
        await Task.Delay(TimeSpan.FromSeconds(6));

        long received = 0;
        var closed = false;
        while (!closed)
        {
            var frame = await raw.TryReadAsync(TimeSpan.FromSeconds(10));
            if (frame is null)
            {
                closed = true;
            }
            else
            {
                received += frame.Value.Payload.Length;
            }
        }

        Assert.True(received < 64L << 20, $"received {received} bytes: the server should have given up on the stalled reader");
    }

    [Fact]
    public async Task An_idle_connection_is_closed_with_a_timeout_and_the_client_reconnects_by_itself()
    {
        using var dir = new TempDir("sx-idle");
        var file = dir.Combine("f");
        var sha = TestFiles.WriteRandom(file, 4L << 20);
        await using var client = await _server.ConnectAsync();
        var options = new TransferOptions { Parallel = 4, ChunkSize = 1 << 20 };
        await client.UploadAsync(file, "/idle/a.bin", options, null, CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(3));
        var again = await client.UploadAsync(file, "/idle/b.bin", options, null, CancellationToken.None);
        Assert.Equal(sha, again.Sha256);
        var back = dir.Combine("back");
        await client.DownloadAsync("/idle/b.bin", back, options, null, CancellationToken.None);
        Assert.Equal(sha, TestFiles.Sha256(back));
    }

    [Fact]
    public async Task An_idle_connection_hears_a_timeout_code()
    {
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync());
        var error = await raw.ReadErrorAsync();
        Assert.Equal(ErrorCode.Timeout, error.Code);
    }

    [Fact]
    public async Task A_resume_holding_many_chunks_is_described_over_several_frames()
    {
        const int chunk = 64 * 1024;
        using var dir = new TempDir("sx-held");
        var file = dir.Combine("f");
        var sha = TestFiles.WriteRandom(file, 20 * chunk);
        var bytes = await File.ReadAllBytesAsync(file);
        var token = await _server.LoginAsync();
        await using (var raw = await RawSxp.ConnectAuthenticatedAsync(_server, token))
        {
            await raw.SendAsync(FrameType.UploadOpen, 10, new UploadOpenRequest("/held.bin", bytes.Length, chunk, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest);
            await raw.ReadAsync();
            for (var i = 0; i < 11; i++)
            {
                await raw.SendDataAsync(10, (long)i * chunk, bytes.AsMemory(i * chunk, chunk));
                await raw.ReadAsync();
            }
        }

        for (var i = 0; i < 50 && _server.Scalar("SELECT count(*) FROM upload_chunks") < 11; i++)
        {
            await Task.Delay(100);
        }

        await using var client = new SxpClient(_server.Endpoint, token);
        var result = await client.UploadAsync(file, "/held.bin", new TransferOptions { ChunkSize = chunk }, null, CancellationToken.None);
        Assert.Equal(11L * chunk, result.ResumedFrom);
        Assert.Equal(sha, result.Sha256);
    }

    [Fact]
    public async Task A_download_range_that_overflows_is_refused()
    {
        using var dir = new TempDir("sx-range");
        var file = dir.Combine("f");
        TestFiles.WriteRandom(file, 1000);
        var token = await _server.LoginAsync();
        await using (var client = new SxpClient(_server.Endpoint, token))
        {
            await client.UploadAsync(file, "/range.bin", new TransferOptions(), null, CancellationToken.None);
        }

        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, token);
        await raw.SendAsync(FrameType.DownloadOpen, 5, new DownloadOpenRequest("/range.bin", 1, long.MaxValue), SxpJsonContext.Default.DownloadOpenRequest);
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
    }
}

public sealed class LoginRateLimitTests
{
    [Fact]
    public async Task Too_many_logins_from_one_address_get_429_with_Retry_After()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__LoginsPerMinute"] = "3" });
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await server.PostLoginAsync("admin", "wrong-password");
            Assert.Equal(HttpStatusCode.Unauthorized, allowed.StatusCode);
        }

        using var refused = await server.PostLoginAsync("admin", ServerProcess.AdminPassword);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter is not null, "Retry-After header expected");
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class DownloadRangeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_clamped_range_past_the_end_is_cut_there_and_says_so()
    {
        var server = fixture.Server;
        using var dir = new TempDir("sx-clamp");
        var file = dir.Combine("f");
        TestFiles.WriteRandom(file, 1000);
        var token = await server.LoginAsync();
        await using (var client = new SxpClient(server.Endpoint, token))
        {
            await client.UploadAsync(file, "/clamp.bin", new TransferOptions(), null, CancellationToken.None);
        }

        await using var raw = await RawSxp.ConnectAuthenticatedAsync(server, token);
        await raw.SendAsync(FrameType.DownloadOpen, 5, new DownloadOpenRequest("/clamp.bin", 600, 1 << 20) { Clamp = true }, SxpJsonContext.Default.DownloadOpenRequest);
        var (header, payload) = await raw.ReadAsync();
        Assert.Equal(FrameType.DownloadReady, header.Type);
        Assert.Equal(400, RawSxp.Decode(payload, SxpJsonContext.Default.DownloadReadyResponse).Length);
        var (data, _) = await raw.ReadAsync();
        Assert.Equal(FrameType.Data, data.Type);
        Assert.Equal(400u + SxpLimits.DataPrefixSize, data.Length);
        Assert.Equal(FrameType.DownloadEnd, (await raw.ReadAsync()).Header.Type);

        await raw.SendAsync(FrameType.DownloadOpen, 7, new DownloadOpenRequest("/clamp.bin", 600, 1 << 20), SxpJsonContext.Default.DownloadOpenRequest);
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
        await raw.SendAsync(FrameType.DownloadOpen, 9, new DownloadOpenRequest("/clamp.bin", 1001, 10) { Clamp = true }, SxpJsonContext.Default.DownloadOpenRequest);
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
    }

    [Fact]
    public async Task A_download_of_a_missing_file_leaves_no_partial_file_behind()
    {
        using var dir = new TempDir("sx-missing");
        await using var client = await fixture.Server.ConnectAsync();
        var target = dir.Combine("nothing");
        var error = await Assert.ThrowsAsync<SxpException>(() => client.DownloadAsync("/no/such/file", target, new TransferOptions(), null, CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
