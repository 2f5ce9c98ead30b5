using System.Security.Cryptography;
using SecureXfer.Shared.Protocol;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// Framing abuse of uploads at the byte level: holes, repeated and conflicting chunks, truncated
/// and short frames, negative sizes and offsets. Each gets
/// its exact refusal, and what ends up stored is exactly what the declared hash describes.
/// </summary>
public sealed class UploadFramingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int Chunk = 64 * 1024;
    private readonly ServerProcess _server = fixture.Server;

    private async Task<(RawSxp Raw, UploadReadyResponse Ready)> OpenAsync(string path, long size) =>
        await RawSxp.OpenUploadAsync(_server, await _server.LoginAsync(), path, size, Chunk);

    private static async Task AckAsync(RawSxp raw)
    {
        var (header, payload) = await raw.ReadAsync();
        Assert.Equal(FrameType.ChunkAck, header.Type);
        Assert.True(PayloadReader.TryReadChunkAck(payload, out _, out _, out var stored));
        Assert.True(stored);
    }

    private static Task CommitAsync(RawSxp raw, UploadReadyResponse ready, byte[] whole) =>
        raw.SendAsync(FrameType.UploadCommit, 11, new UploadCommitRequest(ready.UploadId, Convert.ToHexStringLower(SHA256.HashData(whole))), SxpJsonContext.Default.UploadCommitRequest);

    private string OnDisk(string path) => Path.Combine(_server.UserRoot(1), path.TrimStart('/'));

    [Fact]
    public async Task An_upload_with_a_hole_is_not_committed_until_the_hole_is_filled()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Chunk);
        var (raw, ready) = await OpenAsync("/framing/hole.bin", data.Length);
        await using (raw)
        {
            await raw.SendDataAsync(10, 0, data.AsMemory(0, Chunk));
            await AckAsync(raw);
            await raw.SendDataAsync(10, 2 * Chunk, data.AsMemory(2 * Chunk, Chunk));
            await AckAsync(raw);

            await CommitAsync(raw, ready, data);
            var refused = await raw.ReadErrorAsync();
            Assert.Equal(ErrorCode.BadRequest, refused.Code);
            Assert.Contains("1 of 3 chunks", refused.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(OnDisk("/framing/hole.bin")));

            await raw.SendDataAsync(10, Chunk, data.AsMemory(Chunk, Chunk));
            await AckAsync(raw);
            await CommitAsync(raw, ready, data);
            Assert.Equal(FrameType.UploadDone, (await raw.ReadAsync()).Header.Type);
        }

        Assert.Equal(data, await File.ReadAllBytesAsync(OnDisk("/framing/hole.bin")));
    }

    [Fact]
    public async Task A_chunk_sent_twice_is_stored_once()
    {
        var data = RandomNumberGenerator.GetBytes(2 * Chunk);
        var (raw, ready) = await OpenAsync("/framing/twice.bin", data.Length);
        await using (raw)
        {
            foreach (var offset in new[] { 0, 0, Chunk, 0 })
            {
                await raw.SendDataAsync(10, offset, data.AsMemory(offset, Chunk));
                await AckAsync(raw);
            }

            await CommitAsync(raw, ready, data);
            Assert.Equal(FrameType.UploadDone, (await raw.ReadAsync()).Header.Type);
        }

        Assert.Equal(data, await File.ReadAllBytesAsync(OnDisk("/framing/twice.bin")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Conflicting_chunks_never_leave_a_file_that_differs_from_its_declared_hash(bool declareFirstVersion)
    {
        var first = RandomNumberGenerator.GetBytes(2 * Chunk);
        var second = (byte[])first.Clone();
        RandomNumberGenerator.Fill(second.AsSpan(0, Chunk));
        var path = $"/framing/conflict-{declareFirstVersion}.bin";
        var (raw, ready) = await OpenAsync(path, first.Length);
        await using (raw)
        {
            // Chunk 0, then chunk 1 (so chunk 0 is hashed already), then a different chunk 0.
            await raw.SendDataAsync(10, 0, first.AsMemory(0, Chunk));
            await AckAsync(raw);
            await raw.SendDataAsync(10, Chunk, first.AsMemory(Chunk, Chunk));
            await AckAsync(raw);
            await raw.SendDataAsync(10, 0, second.AsMemory(0, Chunk));
            await AckAsync(raw);

            await CommitAsync(raw, ready, declareFirstVersion ? first : second);
            if (declareFirstVersion)
            {
                // The bytes on disk are the second version: the first one's hash must not be accepted for them.
                Assert.Equal(ErrorCode.IntegrityFailed, (await raw.ReadErrorAsync()).Code);
                Assert.False(File.Exists(OnDisk(path)));
                return;
            }

            Assert.Equal(FrameType.UploadDone, (await raw.ReadAsync()).Header.Type);
        }

        Assert.Equal(second, await File.ReadAllBytesAsync(OnDisk(path)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(second)), _server.ScalarText($"SELECT sha256 FROM files WHERE path = '{path}'"));
    }

    [Fact]
    public async Task Short_and_truncated_frames_get_refusals_and_leave_nothing()
    {
        var (raw, _) = await OpenAsync("/framing/short.bin", Chunk);
        await using (raw)
        {
            // A DATA frame too short to hold its offset and CRC.
            await raw.SendHeaderAsync(5, FrameType.Data, 10);
            await raw.SendBytesAsync(new byte[5]);
            Assert.Equal(ErrorCode.BadFrame, (await raw.ReadErrorAsync()).Code);
        }

        // A frame that promises 1000 bytes and delivers 10 before the peer goes away.
        await using (var truncated = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync()))
        {
            await truncated.SendHeaderAsync(1000, FrameType.Mkdir, 12);
            await truncated.SendBytesAsync("{\"path\":\"/"u8.ToArray());
        }

        await using var check = await _server.ConnectAsync();
        Assert.DoesNotContain(await check.ListAsync("/", CancellationToken.None), e => e.Name == "framing-truncated");
    }

    [Fact]
    public async Task Negative_sizes_and_offsets_are_refused()
    {
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync());
        await raw.SendAsync(FrameType.UploadOpen, 10, new UploadOpenRequest("/framing/negative.bin", -1, Chunk, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest);
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
        await raw.SendAsync(FrameType.UploadOpen, 10, new UploadOpenRequest("/framing/negative.bin", long.MaxValue, Chunk, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest);
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
        await raw.SendAsync(FrameType.UploadOpen, 10, new UploadOpenRequest("/framing/negative.bin", Chunk, -Chunk, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest);
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);
        await raw.SendAsync(FrameType.DownloadOpen, 11, new DownloadOpenRequest("/framing/negative.bin", -1, 10), SxpJsonContext.Default.DownloadOpenRequest);
        Assert.NotEqual(ErrorCode.Internal, (await raw.ReadErrorAsync()).Code);
        Assert.False(File.Exists(OnDisk("/framing/negative.bin")));
        Assert.Equal(0, _server.Scalar("SELECT count(*) FROM upload_sessions WHERE path = '/framing/negative.bin'"));
    }
}
