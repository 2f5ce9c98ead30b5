using System.Security.Cryptography;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

/// <summary>Uploads that meet each other: re-opens during a commit, superseded sessions, quota credit that goes away.</summary>
public sealed class UploadRaceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Chunk = 64 * 1024;
    private readonly ServerProcess _server = fixture.Server;

    private static async Task<UploadReadyResponse> OpenAsync(RawSxp raw, uint stream, string path, long size)
    {
        await raw.SendAsync(FrameType.UploadOpen, stream, new UploadOpenRequest(path, size, Chunk, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest);
        var (header, payload) = await raw.ReadAsync();
        Assert.Equal(FrameType.UploadReady, header.Type);
        return RawSxp.Decode(payload, SxpJsonContext.Default.UploadReadyResponse);
    }

    private static async Task SendChunkAsync(RawSxp raw, uint stream, long offset, ReadOnlyMemory<byte> data)
    {
        await raw.SendDataAsync(stream, offset, data);
        var (header, _) = await raw.ReadAsync();
        Assert.Equal(FrameType.ChunkAck, header.Type);
    }

    [Fact]
    public async Task A_reopen_racing_a_commit_never_changes_the_committed_file()
    {
        var token = await _server.LoginAsync();
        var committedFirst = new List<bool>();
        for (var round = 0; round < 8; round++)
        {
            var path = $"/race/r{round}.bin";
            var data = RandomNumberGenerator.GetBytes(128 * Chunk);
            await using var a = await RawSxp.ConnectAuthenticatedAsync(_server, token);
            await using var b = await RawSxp.ConnectAuthenticatedAsync(_server, token);
            var ready = await OpenAsync(a, 10, path, data.Length);
            for (var i = 0; i < 128; i++)
            {
                await SendChunkAsync(a, 10, (long)i * Chunk, data.AsMemory(i * Chunk, Chunk));
            }

            // Replacing an already hashed chunk forces a full re-hash at commit: a wide window for the race.
            RandomNumberGenerator.Fill(data.AsSpan(Chunk, Chunk));
            await SendChunkAsync(a, 10, Chunk, data.AsMemory(Chunk, Chunk));

            var sha = Convert.ToHexStringLower(SHA256.HashData(data));
            await a.SendAsync(FrameType.UploadCommit, 11, new UploadCommitRequest(ready.UploadId, sha), SxpJsonContext.Default.UploadCommitRequest);
            await Task.Delay(round * 3);
            await OpenAsync(b, 20, path, data.Length);
            await b.SendDataAsync(20, 0, new byte[Chunk].Select(_ => (byte)'Y').ToArray());

            var (header, payload) = await a.ReadAsync();
            await b.ReadAsync();
            var visible = Path.Combine(_server.UserRoot(1), "race", $"r{round}.bin");
            if (header.Type == FrameType.Error)
            {
                // The re-open won the race and took the session over: the commit is refused and nothing appears.
                Assert.Equal(ErrorCode.UploadGone, RawSxp.Decode(payload, SxpJsonContext.Default.ErrorResponse).Code);
                Assert.False(File.Exists(visible));
                committedFirst.Add(false);
                continue;
            }

            Assert.Equal(FrameType.UploadDone, header.Type);
            committedFirst.Add(true);
            var onDisk = await File.ReadAllBytesAsync(visible);
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(onDisk)));
            await using var client = await _server.ConnectAsync();
            Assert.Equal(sha, (await client.StatAsync(path, CancellationToken.None)).Sha256);
        }

        Assert.Contains(true, committedFirst);
    }

    [Fact]
    public async Task A_connection_still_sending_to_a_superseded_upload_is_refused()
    {
        var token = await _server.LoginAsync();
        await using var first = await RawSxp.ConnectAuthenticatedAsync(_server, token);
        await using var second = await RawSxp.ConnectAuthenticatedAsync(_server, token);
        await OpenAsync(first, 10, "/race/superseded.bin", 4 * Chunk);
        await SendChunkAsync(first, 10, 0, new byte[Chunk]);

        await OpenAsync(second, 10, "/race/superseded.bin", 5 * Chunk);
        await first.SendDataAsync(10, Chunk, new byte[Chunk]);
        Assert.Equal(ErrorCode.UploadGone, (await first.ReadErrorAsync()).Code);
        Assert.Equal(1, _server.Scalar("SELECT count(*) FROM upload_sessions WHERE path = '/race/superseded.bin'"));
    }

    [Fact]
    public async Task Quota_credit_for_a_replaced_file_is_withdrawn_when_that_file_moves_away()
    {
        await _server.AddUserAsync("quinn", "quinn-password", quotaBytes: 10L << 20);
        var token = await _server.LoginAsync("quinn", "quinn-password");
        await using (var client = new SxpClient(_server.Endpoint, token))
        {
            using var dir = new TempDir("sx-credit");
            var eight = dir.Combine("eight");
            TestFiles.WriteRandom(eight, 8L << 20);
            await client.UploadAsync(eight, "/A", new TransferOptions(), null, CancellationToken.None);
        }

        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, token);
        var data = RandomNumberGenerator.GetBytes(128 * Chunk);
        var ready = await OpenAsync(raw, 10, "/A", data.Length);
        await raw.SendAsync(FrameType.Move, 12, new MoveRequest("/A", "/C", false), SxpJsonContext.Default.MoveRequest);
        Assert.Equal(FrameType.Ok, (await raw.ReadAsync()).Header.Type);
        for (var i = 0; i < 128; i++)
        {
            await SendChunkAsync(raw, 10, (long)i * Chunk, data.AsMemory(i * Chunk, Chunk));
        }

        await raw.SendAsync(FrameType.UploadCommit, 13, new UploadCommitRequest(ready.UploadId, Convert.ToHexStringLower(SHA256.HashData(data))), SxpJsonContext.Default.UploadCommitRequest);
        Assert.Equal(ErrorCode.QuotaExceeded, (await raw.ReadErrorAsync()).Code);
        Assert.Equal(8L << 20, _server.Scalar("SELECT sum(size) FROM files f JOIN users u ON u.id = f.owner_id WHERE u.username = 'quinn'"));
    }
}
