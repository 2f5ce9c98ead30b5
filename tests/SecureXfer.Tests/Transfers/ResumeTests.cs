using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

public sealed class ResumeTests : IAsyncLifetime
{
    private const long Size = 64L << 20;
    private const int Chunk = 1 << 20;

    private ServerProcess _server = null!;
    private readonly TempDir _local = new("sx-resume");

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _local.Dispose();
    }

    private static TransferOptions Slow => new() { ChunkSize = Chunk, RateLimit = 32L << 20 };

    private static TransferOptions Fast => new() { ChunkSize = Chunk };

    /// <summary>Starts an upload and abandons it (connection dropped) once the server has confirmed a good part of it.</summary>
    private async Task<string> InterruptedUploadAsync(string remote, double fraction)
    {
        var source = _local.Combine(Path.GetFileName(remote));
        var sha = TestFiles.WriteRandom(source, Size);
        using var stop = new CancellationTokenSource();
        var progress = new SyncProgress(bytes =>
        {
            if (bytes >= Size * fraction)
            {
                stop.Cancel();
            }
        });

        await using (var client = await _server.ConnectAsync())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.UploadAsync(source, remote, Slow, progress, stop.Token));
        }

        return sha;
    }

    /// <summary>Waits until the server has recorded the staged chunks of the dropped connection.</summary>
    private async Task<long> StagedChunksAsync()
    {
        long last = -1;
        for (var i = 0; i < 100; i++)
        {
            var now = _server.Scalar("SELECT count(*) FROM upload_chunks");
            if (now == last && now > 0)
            {
                return now;
            }

            last = now;
            await Task.Delay(200);
        }

        return last;
    }

    [Fact]
    public async Task An_interrupted_upload_resumes_and_sends_only_the_missing_chunks()
    {
        var sha = await InterruptedUploadAsync("/resume/a.bin", 0.4);
        var held = await StagedChunksAsync();
        Assert.InRange(held, 20, 63);

        await using var client = await _server.ConnectAsync();
        var result = await client.UploadAsync(_local.Combine("a.bin"), "/resume/a.bin", Fast, null, CancellationToken.None);

        Assert.Equal(held * Chunk, result.ResumedFrom);
        Assert.Equal(Size - result.ResumedFrom, result.BytesSent);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(sha, (await client.StatAsync("/resume/a.bin", CancellationToken.None)).Sha256);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_server.DataDir, "staging")));
        Assert.Equal(0, _server.Scalar("SELECT count(*) FROM upload_sessions"));
    }

    [Fact]
    public async Task A_resume_that_asks_for_another_chunk_size_follows_the_staged_one()
    {
        var sha = await InterruptedUploadAsync("/resume/chunks.bin", 0.4);
        var held = await StagedChunksAsync();

        await using var client = await _server.ConnectAsync();
        var result = await client.UploadAsync(_local.Combine("chunks.bin"), "/resume/chunks.bin", new TransferOptions { ChunkSize = 8 << 20 }, null, CancellationToken.None);
        Assert.Equal(held * Chunk, result.ResumedFrom);
        Assert.Equal(Size - result.ResumedFrom, result.BytesSent);
        Assert.Equal(sha, result.Sha256);
    }

    [Fact]
    public async Task A_staged_chunk_damaged_on_disk_is_detected_and_sent_again()
    {
        var sha = await InterruptedUploadAsync("/resume/b.bin", 0.5);
        var held = await StagedChunksAsync();
        Assert.True(held > 2);

        var staged = Assert.Single(Directory.GetFiles(Path.Combine(_server.DataDir, "staging")));
        await using (var file = new FileStream(staged, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            // Chunk 1 was certainly received: flip one byte in its middle.
            file.Position = Chunk + (Chunk / 2);
            var original = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(original ^ 0xFF));
        }

        await using var client = await _server.ConnectAsync();
        var result = await client.UploadAsync(_local.Combine("b.bin"), "/resume/b.bin", Fast, null, CancellationToken.None);

        Assert.Equal((held - 1) * Chunk, result.ResumedFrom);
        Assert.Equal(Size - result.ResumedFrom, result.BytesSent);
        Assert.Equal(sha, result.Sha256);
        var back = _local.Combine("b.back");
        await client.DownloadAsync("/resume/b.bin", back, Fast, null, CancellationToken.None);
        Assert.Equal(sha, TestFiles.Sha256(back));
    }

    [Fact]
    public async Task The_server_killed_mid_upload_comes_back_and_the_upload_resumes()
    {
        var source = _local.Combine("c.bin");
        var sha = TestFiles.WriteRandom(source, Size);
        var halfway = new TaskCompletionSource();
        var progress = new SyncProgress(bytes =>
        {
            if (bytes >= Size / 2)
            {
                halfway.TrySetResult();
            }
        });

        var client = await _server.ConnectAsync();
        var upload = client.UploadAsync(source, "/resume/c.bin", Slow, progress, CancellationToken.None);
        await halfway.Task.WaitAsync(TimeSpan.FromSeconds(60));
        _server.Kill();
        await Assert.ThrowsAnyAsync<Exception>(() => upload);
        await client.DisposeAsync();

        var stagedBeforeRestart = _server.Scalar("SELECT count(*) FROM upload_chunks");
        await _server.StartAgainAsync();

        await using var again = await _server.ConnectAsync();
        var result = await again.UploadAsync(source, "/resume/c.bin", Fast, null, CancellationToken.None);
        Assert.Equal(sha, result.Sha256);
        Assert.True(result.ResumedFrom > 0, "chunks recorded before the crash should not be sent again");
        Assert.Equal(stagedBeforeRestart * Chunk, result.ResumedFrom);
        Assert.Equal(Size - result.ResumedFrom, result.BytesSent);
        Assert.Equal(sha, (await again.StatAsync("/resume/c.bin", CancellationToken.None)).Sha256);
    }

    [Fact]
    public async Task An_interrupted_download_resumes_from_the_partial_file()
    {
        var source = _local.Combine("d.bin");
        var sha = TestFiles.WriteRandom(source, Size);
        await using (var client = await _server.ConnectAsync())
        {
            await client.UploadAsync(source, "/resume/d.bin", Fast, null, CancellationToken.None);
        }

        var target = _local.Combine("d.back");
        using var stop = new CancellationTokenSource();
        var progress = new SyncProgress(bytes =>
        {
            if (bytes >= Size / 3)
            {
                stop.Cancel();
            }
        });
        await using (var client = await _server.ConnectAsync())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DownloadAsync("/resume/d.bin", target, Slow, progress, stop.Token));
        }

        Assert.False(File.Exists(target));
        Assert.True(File.Exists(target + ".sxpart"));

        await using var again = await _server.ConnectAsync();
        var result = await again.DownloadAsync("/resume/d.bin", target, Fast, null, CancellationToken.None);
        Assert.InRange(result.ResumedFrom, Size / 3, Size - 1);
        Assert.Equal(Size - result.ResumedFrom, result.BytesSent);
        Assert.Equal(sha, TestFiles.Sha256(target));
        Assert.False(File.Exists(target + ".sxpart"));
        Assert.False(File.Exists(target + ".sxpart.json"));
    }

    [Fact]
    public async Task A_partial_download_of_a_file_that_changed_on_the_server_starts_over()
    {
        var first = _local.Combine("e1.bin");
        TestFiles.WriteRandom(first, 8L << 20);
        await using var client = await _server.ConnectAsync();
        await client.UploadAsync(first, "/resume/e.bin", Fast, null, CancellationToken.None);

        var target = _local.Combine("e.back");
        using var stop = new CancellationTokenSource();
        var progress = new SyncProgress(bytes =>
        {
            if (bytes >= 2L << 20)
            {
                stop.Cancel();
            }
        });
        await using (var slow = await _server.ConnectAsync())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.DownloadAsync("/resume/e.bin", target, Slow, progress, stop.Token));
        }

        var second = _local.Combine("e2.bin");
        var sha2 = TestFiles.WriteRandom(second, 8L << 20);
        await client.UploadAsync(second, "/resume/e.bin", Fast, null, CancellationToken.None);

        var result = await client.DownloadAsync("/resume/e.bin", target, Fast, null, CancellationToken.None);
        Assert.Equal(0, result.ResumedFrom);
        Assert.Equal(sha2, TestFiles.Sha256(target));
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread, so a test can react at an exact point.</summary>
internal sealed class SyncProgress(Action<long> report) : IProgress<long>
{
    public void Report(long value) => report(value);
}
