using SecureXfer.Server.Diagnostics;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Durability;

/// <summary>
/// The server is killed (SIGKILL, from inside, at a named step) in the middle of an upload or a
/// PUT, of a new file or over an old one. After a restart every file must be the old version or
/// the new one, whole, with its true hash on record; the database's sizes must add up to what is
/// on disk (quota); and sending the file again must work, resuming staged chunks.
/// </summary>
public sealed class CrashTests : IAsyncLifetime
{
    private const long AdminId = 1;
    private const int Chunk = 1 << 20;
    private const long UploadSize = 16L * Chunk;
    private const long PutSize = 200_000;
    private static readonly DateTime SameTime = new(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);

    private readonly TempDir _local = new("sx-crash");
    private ServerProcess? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _local.Dispose();
    }

    private static TransferOptions Options => new() { ChunkSize = Chunk, Overwrite = OverwritePolicy.Replace };

    /// <summary>A local file of random bytes with a fixed modification time, so old and new versions differ only in content.</summary>
    private (string Path, string Sha) Version(string name, long size, int seed)
    {
        var path = _local.Combine(name);
        var sha = TestFiles.WriteRandom(path, size, seed);
        File.SetLastWriteTimeUtc(path, SameTime);
        return (path, sha);
    }

    [Theory]
    [InlineData(CrashPoints.UploadChunkWritten, 12, false)]
    [InlineData(CrashPoints.UploadChunkWritten, 12, true)]
    [InlineData(CrashPoints.UploadVerified, 1, false)]
    [InlineData(CrashPoints.UploadVerified, 1, true)]
    [InlineData(CrashPoints.UploadRenamed, 1, false)]
    [InlineData(CrashPoints.UploadRenamed, 1, true)]
    [InlineData(CrashPoints.UploadRecording, 1, false)]
    [InlineData(CrashPoints.UploadRecording, 1, true)]
    public async Task A_crash_at_any_step_of_an_upload_leaves_the_old_or_the_new_file_and_the_upload_resumes(string point, int hit, bool overwrite)
    {
        var old = Version("old.bin", UploadSize, 11);
        var fresh = Version("new.bin", UploadSize, 22);
        // The old version's upload passes every step once (and chunk-written once per chunk) before the crash is due.
        var due = overwrite ? hit + (point == CrashPoints.UploadChunkWritten ? (int)(UploadSize / Chunk) : 1) : hit;
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__CrashAt"] = $"{point}@{due}" });

        await using (var client = await _server.ConnectAsync())
        {
            if (overwrite)
            {
                await client.UploadAsync(old.Path, "/crash/file.bin", Options, null, CancellationToken.None);
            }

            await Assert.ThrowsAnyAsync<Exception>(() => client.UploadAsync(fresh.Path, "/crash/file.bin", Options, null, CancellationToken.None));
        }

        await _server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains($"crash point {point} reached", _server.Output, StringComparison.Ordinal);
        await _server.StartAgainAsync();

        await AssertConsistentAsync("/crash/file.bin", overwrite ? [old.Sha, fresh.Sha] : [fresh.Sha], mayBeMissing: !overwrite);

        await using (var client = await _server.ConnectAsync())
        {
            var again = await client.UploadAsync(fresh.Path, "/crash/file.bin", Options, null, CancellationToken.None);
            Assert.Equal(fresh.Sha, again.Sha256);
            if (point is CrashPoints.UploadChunkWritten or CrashPoints.UploadVerified)
            {
                // The staged chunks recorded before the crash (every eighth chunk saves the batch)
                // survived it: the second attempt sends only what is missing.
                Assert.True(again.ResumedFrom >= 8L * Chunk, $"resumed from {again.ResumedFrom}");
            }

            Assert.Equal(fresh.Sha, (await client.StatAsync("/crash/file.bin", CancellationToken.None)).Sha256);
        }

        await AssertConsistentAsync("/crash/file.bin", [fresh.Sha], mayBeMissing: false);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_server.DataDir, "staging")));
        Assert.Equal(0, _server.Scalar("SELECT count(*) FROM upload_sessions"));
    }

    [Theory]
    [InlineData(CrashPoints.PutRenamed, false)]
    [InlineData(CrashPoints.PutRenamed, true)]
    [InlineData(CrashPoints.PutRecording, false)]
    [InlineData(CrashPoints.PutRecording, true)]
    public async Task A_crash_while_small_files_are_committed_leaves_each_old_or_new_with_its_true_hash(string point, bool overwrite)
    {
        var old = Version("old-small.bin", PutSize, 33);
        var fresh = Version("new-small.bin", PutSize, 44);
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__CrashAt"] = $"{point}@{(overwrite ? 2 : 1)}" });

        await using (var client = await _server.ConnectAsync())
        {
            if (overwrite)
            {
                await client.PutAsync(old.Path, "/crash/small.bin", OverwritePolicy.Replace, CancellationToken.None);
            }

            await Assert.ThrowsAnyAsync<Exception>(() => client.PutAsync(fresh.Path, "/crash/small.bin", OverwritePolicy.Replace, CancellationToken.None));
        }

        await _server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains($"crash point {point} reached", _server.Output, StringComparison.Ordinal);
        await _server.StartAgainAsync();

        await AssertConsistentAsync("/crash/small.bin", overwrite ? [old.Sha, fresh.Sha] : [fresh.Sha], mayBeMissing: !overwrite);
        await using (var client = await _server.ConnectAsync())
        {
            await client.PutAsync(fresh.Path, "/crash/small.bin", OverwritePolicy.Replace, CancellationToken.None);
        }

        await AssertConsistentAsync("/crash/small.bin", [fresh.Sha], mayBeMissing: false);
    }

    [Fact]
    public async Task After_an_unclean_stop_the_start_up_pass_records_what_is_really_on_disk()
    {
        _server = await ServerProcess.StartAsync();
        var a = Version("a.bin", 300_000, 1);
        var b = Version("b.bin", 300_000, 2);
        await using (var client = await _server.ConnectAsync())
        {
            await client.PutAsync(a.Path, "/r/a.bin", OverwritePolicy.Replace, CancellationToken.None);
            await client.PutAsync(b.Path, "/r/b.bin", OverwritePolicy.Replace, CancellationToken.None);
        }

        _server.Kill();
        var root = _server.UserRoot(AdminId);
        // Behind the server's back: one file gone, one rewritten with the same size and time, one new.
        File.Delete(Path.Combine(root, "r", "a.bin"));
        var changed = Version("changed.bin", 300_000, 3);
        File.Copy(changed.Path, Path.Combine(root, "r", "b.bin"), overwrite: true);
        File.SetLastWriteTimeUtc(Path.Combine(root, "r", "b.bin"), SameTime);
        _server.Execute("UPDATE files SET modified_ticks = -1 WHERE path = '/r/b.bin'");
        File.Copy(a.Path, Path.Combine(root, "r", "c.bin"));

        await _server.StartAgainAsync();
        Assert.Contains("did not stop cleanly", _server.Output, StringComparison.Ordinal);
        await AssertConsistentAsync("/r/b.bin", [changed.Sha], mayBeMissing: false);
        await AssertConsistentAsync("/r/c.bin", [a.Sha], mayBeMissing: false);
        Assert.Equal(0, _server.Scalar("SELECT count(*) FROM files WHERE path = '/r/a.bin'"));

        // A clean stop leaves nothing to reconcile at the next start.
        await _server.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(_server.RunningMarkers);
        var before = _server.Output.Split('\n').Length;
        await _server.StartAgainAsync();
        Assert.DoesNotContain("did not stop cleanly", string.Join('\n', _server.Output.Split('\n').Skip(before)), StringComparison.Ordinal);
    }

    /// <summary>
    /// The file at <paramref name="path"/> is one of the expected versions, whole, and the server's
    /// stat gives its true hash; and the records add up to the files on disk, file for file.
    /// </summary>
    private async Task AssertConsistentAsync(string path, string[] expected, bool mayBeMissing)
    {
        var server = _server!;
        var root = server.UserRoot(AdminId);
        var onDisk = Path.Combine(root, path.TrimStart('/'));
        await using var client = await server.ConnectAsync();
        if (!File.Exists(onDisk))
        {
            Assert.True(mayBeMissing, $"{path} is gone");
            Assert.Equal(0, server.Scalar($"SELECT count(*) FROM files WHERE path = '{path}'"));
        }
        else
        {
            var actual = TestFiles.Sha256(onDisk);
            Assert.Contains(actual, expected);
            Assert.Equal(actual, (await client.StatAsync(path, CancellationToken.None)).Sha256);
            var copy = _local.Combine("check-" + Guid.NewGuid().ToString("N"));
            var downloaded = await client.DownloadAsync(path, copy, new TransferOptions(), null, CancellationToken.None);
            Assert.Equal(actual, downloaded.Sha256);
            Assert.Equal(actual, TestFiles.Sha256(copy));
        }

        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToList();
        Assert.Equal(files.Count, server.Scalar($"SELECT count(*) FROM files WHERE owner_id = {AdminId}"));
        Assert.Equal(files.Sum(f => f.Length), server.Scalar($"SELECT coalesce(sum(size), 0) FROM files WHERE owner_id = {AdminId}"));
    }
}
