using System.Net;
using System.Security.Cryptography;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// What one host or one account can hold: SXP connections per address (before authentication
/// too), sessions per account, uploads left open (discarded after a while, reservation and
/// staged data with them), and listings of huge directories (sent in full, in batches).
/// </summary>
public sealed class ResourceExhaustionTests
{
    [Fact]
    public async Task One_account_cannot_hold_more_sessions_than_its_share()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__SxpSessionsPerUser"] = "3" });
        await server.AddUserAsync("hog", "hog-password");
        var token = await server.LoginAsync("hog", "hog-password");
        var held = new List<SxpClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = new SxpClient(server.Endpoint, token);
                held.Add(client);
                await client.ListAsync("/", CancellationToken.None);
            }

            await using (var fourth = new SxpClient(server.Endpoint, token))
            {
                var refused = await Assert.ThrowsAsync<SxpException>(() => fourth.ListAsync("/", CancellationToken.None));
                Assert.Equal(ErrorCode.Busy, refused.Code);
                Assert.Contains("sessions open", refused.Message, StringComparison.Ordinal);
            }

            // Another account is not affected, and a closed session frees its slot.
            await using (var other = await server.ConnectAsync())
            {
                await other.ListAsync("/", CancellationToken.None);
            }

            await held[0].DisposeAsync();
            held.RemoveAt(0);
            await Task.Delay(300);
            await using var again = new SxpClient(server.Endpoint, token);
            await again.ListAsync("/", CancellationToken.None);
        }
        finally
        {
            foreach (var client in held)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task One_address_cannot_hold_more_connections_than_its_share_even_unauthenticated()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__SxpConnectionsPerAddress"] = "4" });
        var idle = new List<RawSxp>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                idle.Add(await RawSxp.ConnectAsync(server));
            }

            await using (var fifth = await RawSxp.ConnectAsync(server))
            {
                Assert.Equal(ErrorCode.Busy, (await fifth.ReadErrorAsync()).Code);
                Assert.True(await fifth.IsClosedAsync());
            }

            await idle[0].DisposeAsync();
            idle.RemoveAt(0);
            await Task.Delay(300);
            await using var client = await server.ConnectAsync();
            await client.ListAsync("/", CancellationToken.None);
        }
        finally
        {
            foreach (var raw in idle)
            {
                await raw.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_abandoned_upload_is_discarded_with_its_staged_data_and_its_quota_reservation()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["SecureXfer__AbandonedUploadAge"] = "00:00:03",
            ["SecureXfer__AbandonedUploadSweep"] = "00:00:01",
        });
        await server.AddUserAsync("leaver", "leaver-password", quotaBytes: 10L << 20);
        var token = await server.LoginAsync("leaver", "leaver-password");
        var (raw, ready) = await RawSxp.OpenUploadAsync(server, token, "/left.bin", 8L << 20, 1 << 20);
        await using (raw)
        {
            await raw.SendDataAsync(10, 0, RandomNumberGenerator.GetBytes(1 << 20));
            Assert.Equal(FrameType.ChunkAck, (await raw.ReadAsync()).Header.Type);
        }

        // While it is staged, its 8 MiB are reserved: another 8 MiB do not fit the 10 MiB quota.
        using var local = new TempDir("sx-abandoned");
        var other = local.Combine("other.bin");
        TestFiles.WriteRandom(other, 8L << 20);
        await using var client = new SxpClient(server.Endpoint, token);
        Assert.Equal(ErrorCode.QuotaExceeded, (await Assert.ThrowsAsync<SxpException>(() => client.UploadAsync(other, "/other.bin", new TransferOptions(), null, CancellationToken.None))).Code);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(server.DataDir, "staging"), ready.UploadId + "*"));

        for (var i = 0; i < 100 && server.Scalar($"SELECT count(*) FROM upload_sessions WHERE id = '{ready.UploadId}'") > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0, server.Scalar($"SELECT count(*) FROM upload_sessions WHERE id = '{ready.UploadId}'"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.DataDir, "staging"), ready.UploadId + "*"));
        await client.UploadAsync(other, "/other.bin", new TransferOptions(), null, CancellationToken.None);
    }

    [Fact]
    public async Task A_directory_of_twenty_thousand_files_lists_in_full_over_SXP_and_REST()
    {
        await using var server = await ServerProcess.StartAsync();
        var directory = Path.Combine(server.UserRoot(1), "huge");
        Directory.CreateDirectory(directory);
        for (var i = 0; i < 20_000; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(directory, $"f{i:D5}.txt"), []);
        }

        await using var client = await server.ConnectAsync();
        var entries = await client.ListAsync("/huge", CancellationToken.None);
        Assert.Equal(20_000, entries.Count);
        Assert.Equal("f00000.txt", entries[0].Name);
        Assert.Equal("f19999.txt", entries[^1].Name);

        using var rest = new RestClient(server, await server.LoginAsync());
        var listed = await RestClient.ExpectAsync(await rest.GetAsync("/api/v1/files?path=/huge"), HttpStatusCode.OK);
        Assert.Equal(20_000, listed.GetProperty("items").GetArrayLength());
    }
}
