using System.Security.Cryptography;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

public sealed class IntegrityTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private const int Chunk = 64 * 1024;
    private readonly ServerProcess _server = fixture.Server;
    private readonly TempDir _local = new("sx-integrity");

    public void Dispose() => _local.Dispose();

    private async Task<(RawSxp Raw, UploadReadyResponse Ready)> OpenAsync(string path, long size) =>
        await RawSxp.OpenUploadAsync(_server, await _server.LoginAsync(), path, size, Chunk);

    private static async Task<bool> AckAsync(RawSxp raw)
    {
        var (header, payload) = await raw.ReadAsync();
        Assert.Equal(FrameType.ChunkAck, header.Type);
        Assert.True(PayloadReader.TryReadChunkAck(payload, out _, out _, out var stored));
        return stored;
    }

    [Fact]
    public async Task A_wrong_whole_file_hash_is_refused_and_nothing_becomes_visible()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Chunk);
        var (raw, ready) = await OpenAsync("/integrity/wrong.bin", data.Length);
        await using (raw)
        {
            for (var i = 0; i < 3; i++)
            {
                await raw.SendDataAsync(10, (long)i * Chunk, data.AsMemory(i * Chunk, Chunk));
                Assert.True(await AckAsync(raw));
            }

            var wrong = Convert.ToHexStringLower(SHA256.HashData("something else"u8));
            await raw.SendAsync(FrameType.UploadCommit, 11, new UploadCommitRequest(ready.UploadId, wrong), SxpJsonContext.Default.UploadCommitRequest);
            Assert.Equal(ErrorCode.IntegrityFailed, (await raw.ReadErrorAsync()).Code);
        }

        await using var client = await _server.ConnectAsync();
        var error = await Assert.ThrowsAsync<SxpException>(() => client.StatAsync("/integrity/wrong.bin", CancellationToken.None));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.False(File.Exists(Path.Combine(_server.DataDir, "staging", ready.UploadId + ".part")));
        Assert.Equal(0, _server.Scalar($"SELECT count(*) FROM upload_sessions WHERE id = '{ready.UploadId}'"));
    }

    [Fact]
    public async Task A_failed_replacement_leaves_the_old_file_intact()
    {
        var original = _local.Combine("original");
        var sha = TestFiles.WriteRandom(original, 100_000);
        await using var client = await _server.ConnectAsync();
        await client.UploadAsync(original, "/integrity/keep.bin", new TransferOptions(), null, CancellationToken.None);

        var data = RandomNumberGenerator.GetBytes(Chunk);
        var (raw, ready) = await OpenAsync("/integrity/keep.bin", data.Length);
        await using (raw)
        {
            await raw.SendDataAsync(10, 0, data);
            Assert.True(await AckAsync(raw));
            await raw.SendAsync(FrameType.UploadCommit, 11, new UploadCommitRequest(ready.UploadId, new string('0', 64)), SxpJsonContext.Default.UploadCommitRequest);
            Assert.Equal(ErrorCode.IntegrityFailed, (await raw.ReadErrorAsync()).Code);
        }

        var back = _local.Combine("back");
        await client.DownloadAsync("/integrity/keep.bin", back, new TransferOptions(), null, CancellationToken.None);
        Assert.Equal(sha, TestFiles.Sha256(back));
    }

    [Fact]
    public async Task A_chunk_whose_checksum_does_not_match_is_not_stored()
    {
        var data = RandomNumberGenerator.GetBytes(Chunk);
        var (raw, ready) = await OpenAsync("/integrity/crc.bin", data.Length);
        await using (raw)
        {
            await raw.SendDataAsync(10, 0, data, crc: 12345);
            Assert.False(await AckAsync(raw));

            await raw.SendAsync(FrameType.UploadCommit, 11, new UploadCommitRequest(ready.UploadId, Convert.ToHexStringLower(SHA256.HashData(data))), SxpJsonContext.Default.UploadCommitRequest);
            Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);

            await raw.SendDataAsync(10, 0, data);
            Assert.True(await AckAsync(raw));
            await raw.SendAsync(FrameType.UploadCommit, 12, new UploadCommitRequest(ready.UploadId, Convert.ToHexStringLower(SHA256.HashData(data))), SxpJsonContext.Default.UploadCommitRequest);
            Assert.Equal(FrameType.UploadDone, (await raw.ReadAsync()).Header.Type);
        }
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(-65536L)]
    [InlineData(2L * Chunk)]
    [InlineData(1L << 40)]
    public async Task Chunks_at_offsets_that_are_not_chunk_starts_inside_the_file_are_refused(long offset)
    {
        var (raw, _) = await OpenAsync($"/integrity/offset{offset}.bin", 2 * Chunk);
        await using (raw)
        {
            await raw.SendDataAsync(10, offset, new byte[Chunk]);
            Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
        }
    }

    [Fact]
    public async Task A_chunk_of_the_wrong_length_is_refused()
    {
        var (raw, _) = await OpenAsync("/integrity/length.bin", Chunk + 10);
        await using (raw)
        {
            await raw.SendDataAsync(10, Chunk, new byte[11]);
            Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
            await raw.SendDataAsync(10, 0, new byte[Chunk - 1]);
            Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
        }
    }

    [Fact]
    public async Task Another_users_upload_cannot_be_attached_committed_or_aborted()
    {
        var (raw, ready) = await OpenAsync("/integrity/mine.bin", Chunk);
        await using (raw)
        {
            await _server.AddUserAsync("mallory", "mallory-password");
            await using var mallory = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync("mallory", "mallory-password"));
            await mallory.SendAsync(FrameType.UploadAttach, 3, new UploadAttachRequest(ready.UploadId), SxpJsonContext.Default.UploadAttachRequest);
            Assert.Equal(ErrorCode.UploadGone, (await mallory.ReadErrorAsync()).Code);
            await mallory.SendAsync(FrameType.UploadCommit, 4, new UploadCommitRequest(ready.UploadId, new string('a', 64)), SxpJsonContext.Default.UploadCommitRequest);
            Assert.Equal(ErrorCode.UploadGone, (await mallory.ReadErrorAsync()).Code);
            await mallory.SendAsync(FrameType.UploadAbort, 5, new UploadAbortRequest(ready.UploadId), SxpJsonContext.Default.UploadAbortRequest);
            Assert.Equal(ErrorCode.UploadGone, (await mallory.ReadErrorAsync()).Code);
        }

        Assert.Equal(1, _server.Scalar($"SELECT count(*) FROM upload_sessions WHERE id = '{ready.UploadId}'"));
    }

    [Fact]
    public async Task Aborting_an_upload_removes_its_staged_data()
    {
        var (raw, ready) = await OpenAsync("/integrity/abort.bin", Chunk);
        await using (raw)
        {
            await raw.SendDataAsync(10, 0, new byte[Chunk]);
            Assert.True(await AckAsync(raw));
            await raw.SendAsync(FrameType.UploadAbort, 11, new UploadAbortRequest(ready.UploadId), SxpJsonContext.Default.UploadAbortRequest);
            Assert.Equal(FrameType.Ok, (await raw.ReadAsync()).Header.Type);
        }

        Assert.False(File.Exists(Path.Combine(_server.DataDir, "staging", ready.UploadId + ".part")));
        Assert.Equal(0, _server.Scalar($"SELECT count(*) FROM upload_sessions WHERE id = '{ready.UploadId}'"));
    }
}
