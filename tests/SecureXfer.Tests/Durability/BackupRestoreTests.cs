using System.Net;
using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Durability;

/// <summary>
/// <c>backup --to DIR</c> while the server runs and writes, <c>restore --from DIR</c> into a
/// stopped server's data directory, and a server started on the result: same accounts, same
/// credentials (tokens and API keys), every file whole, records matching the disk.
/// </summary>
public sealed class BackupRestoreTests : IDisposable
{
    private const string AlicePassword = "alice-password-for-backups";
    private readonly TempDir _work = new("sx-backup");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task A_backup_taken_while_files_are_written_restores_into_a_working_server()
    {
        await using var original = await ServerProcess.StartAsync();
        var alice = await original.AddUserAsync("alice", AlicePassword, quotaBytes: 1L << 30);
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var client = await original.ConnectAsync("alice", AlicePassword))
        {
            foreach (var (path, size) in new[] { ("/big/twenty.bin", 20L << 20), ("/docs/a/b/small.txt", 1000L), ("/empty.bin", 0L) })
            {
                var local = _work.Combine(Path.GetFileName(path));
                files[path] = TestFiles.WriteRandom(local, size, seed: (int)size);
                await client.UploadAsync(local, path, new TransferOptions(), null, CancellationToken.None);
            }
        }

        var aliceToken = await original.LoginAsync("alice", AlicePassword);
        var apiKey = await CreateApiKeyAsync(original, aliceToken);

        // A writer keeps adding and replacing files while the backup runs: the backup must still be whole.
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => KeepWritingAsync(original, stop.Token));
        await Task.Delay(300);
        var backup = _work.Combine("backup");
        var (code, stdout, stderr) = await RunAsync("backup", "--to", backup, "--data-dir", original.DataDir);
        await stop.CancelAsync();
        var written = await writer;
        Assert.True(code == 0, stdout + stderr);
        Assert.True(written > 0, "the writer wrote nothing while the backup ran");
        Assert.Contains("backup of", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(backup, "backup.json")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(backup));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(backup, "securexfer.db")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(backup, "jwt-signing.key")));
        original.Kill();

        await using var restored = new ServerProcess();
        (code, stdout, stderr) = await RunAsync("restore", "--from", backup, "--data-dir", restored.DataDir);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("every file checked against its SHA-256", stdout, StringComparison.Ordinal);
        await restored.StartAgainAsync();

        // Accounts, password hashes, the signing key and API keys came back.
        Assert.NotNull(await restored.LoginAsync("alice", AlicePassword));
        using (var http = restored.CreateHttpClient())
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", aliceToken);
            using var me = await http.GetAsync("/api/v1/me");
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        }

        using (var http = restored.CreateHttpClient())
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            using var me = await http.GetAsync("/api/v1/me");
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        }

        await using (var client = await restored.ConnectAsync("alice", AlicePassword))
        {
            foreach (var (path, sha) in files)
            {
                var entry = await client.StatAsync(path, CancellationToken.None);
                Assert.Equal(sha, entry.Sha256);
                var copy = _work.Combine("copy-" + Path.GetFileName(path));
                var result = await client.DownloadAsync(path, copy, new TransferOptions(), null, CancellationToken.None);
                Assert.Equal(sha, result.Sha256);
                Assert.Equal(sha, TestFiles.Sha256(copy));
            }
        }

        // Every record matches its file on disk, byte for byte, including the writer's files.
        using var db = restored.OpenDatabase();
        using var query = db.CreateCommand();
        query.CommandText = $"SELECT path, size, sha256 FROM files WHERE owner_id = {alice}";
        using var reader = query.ExecuteReader();
        var checkedFiles = 0;
        while (reader.Read())
        {
            var onDisk = Path.Combine(restored.UserRoot(alice), reader.GetString(0).TrimStart('/'));
            Assert.Equal(reader.GetInt64(1), new FileInfo(onDisk).Length);
            Assert.Equal(reader.GetString(2), TestFiles.Sha256(onDisk));
            checkedFiles++;
        }

        Assert.True(checkedFiles >= files.Count);
        Assert.Equal(0, restored.Scalar("SELECT count(*) FROM upload_sessions"));
    }

    [Fact]
    public async Task Restore_refuses_while_a_server_runs_on_the_data_directory()
    {
        await using var server = await ServerProcess.StartAsync();
        var backup = _work.Combine("backup");
        Assert.Equal(0, (await RunAsync("backup", "--to", backup, "--data-dir", server.DataDir)).Code);

        var (code, _, stderr) = await RunAsync("restore", "--from", backup, "--data-dir", server.DataDir, "--force");
        Assert.Equal(1, code);
        Assert.Contains("A server is running on", stderr, StringComparison.Ordinal);
        Assert.NotNull(await server.LoginAsync());
    }

    [Fact]
    public async Task Restore_over_existing_data_needs_force_and_keeps_the_old_data_aside()
    {
        var backup = _work.Combine("backup");
        await using (var first = await ServerProcess.StartAsync())
        {
            await first.AddUserAsync("kept", AlicePassword);
            Assert.Equal(0, (await RunAsync("backup", "--to", backup, "--data-dir", first.DataDir)).Code);
        }

        await using var other = await ServerProcess.StartAsync();
        await other.AddUserAsync("replaced", AlicePassword);
        await other.TerminateAsync(TimeSpan.FromSeconds(60));

        var (code, _, stderr) = await RunAsync("restore", "--from", backup, "--data-dir", other.DataDir);
        Assert.Equal(1, code);
        Assert.Contains("--force", stderr, StringComparison.Ordinal);
        Assert.Equal(1, other.Scalar("SELECT count(*) FROM users WHERE username = 'replaced'"));

        (code, var stdout, stderr) = await RunAsync("restore", "--from", backup, "--data-dir", other.DataDir, "--force");
        Assert.True(code == 0, stdout + stderr);
        var aside = Assert.Single(Directory.GetDirectories(other.DataDir, "replaced-*"));
        Assert.True(File.Exists(Path.Combine(aside, "securexfer.db")));
        SqliteConnection.ClearAllPools();
        Assert.Equal(0, other.Scalar("SELECT count(*) FROM users WHERE username = 'replaced'"));

        await other.StartAgainAsync();
        Assert.NotNull(await other.LoginAsync("kept", AlicePassword));
    }

    [Fact]
    public async Task A_damaged_or_unfinished_backup_is_refused_and_changes_nothing()
    {
        var backup = _work.Combine("backup");
        await using (var server = await ServerProcess.StartAsync())
        {
            await using var client = await server.ConnectAsync();
            var local = _work.Combine("f.bin");
            TestFiles.WriteRandom(local, 100_000);
            await client.UploadAsync(local, "/f.bin", new TransferOptions(), null, CancellationToken.None);
            Assert.Equal(0, (await RunAsync("backup", "--to", backup, "--data-dir", server.DataDir)).Code);

            // Backing up into a directory that holds something is refused.
            var again = await RunAsync("backup", "--to", backup, "--data-dir", server.DataDir);
            Assert.Equal(1, again.Code);
            Assert.Contains("not empty", again.Stderr, StringComparison.Ordinal);
        }

        var target = _work.Combine("target");
        var stored = Path.Combine(backup, "files", "1", "f.bin");
        var bytes = await File.ReadAllBytesAsync(stored);
        bytes[5000] ^= 0xFF;
        await File.WriteAllBytesAsync(stored, bytes);
        var (code, _, stderr) = await RunAsync("restore", "--from", backup, "--data-dir", target);
        Assert.Equal(1, code);
        Assert.Contains("does not match its recorded SHA-256", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(target, "securexfer.db")));

        File.Delete(Path.Combine(backup, "backup.json"));
        (code, _, stderr) = await RunAsync("restore", "--from", backup, "--data-dir", target);
        Assert.Equal(1, code);
        Assert.Contains("not a finished SecureXfer backup", stderr, StringComparison.Ordinal);

        var usage = await RunAsync("restore", "--data-dir", target);
        Assert.Equal(2, usage.Code);
        Assert.Contains("--from DIR is required", usage.Stderr, StringComparison.Ordinal);
    }

    private static async Task<int> KeepWritingAsync(ServerProcess server, CancellationToken stop)
    {
        using var dir = new TempDir("sx-writer");
        await using var client = await server.ConnectAsync("alice", AlicePassword);
        var written = 0;
        while (!stop.IsCancellationRequested)
        {
            var local = dir.Combine("w.bin");
            TestFiles.WriteRandom(local, 256 * 1024 + written, seed: written);

            // New files, and replacements of the same few names.
            var path = written % 2 == 0 ? $"/writer/new-{written}.bin" : $"/writer/same-{written % 5}.bin";
            await client.PutAsync(local, path, OverwritePolicy.Replace, CancellationToken.None);
            written++;
        }

        return written;
    }

    private static async Task<string> CreateApiKeyAsync(ServerProcess server, string token)
    {
        using var http = server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.PostAsync("/api/v1/keys", new StringContent("{\"name\":\"backup-test\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("key").GetString()!;
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        Tool.RunAsync("dotnet", [Repo.ApiDll, .. args], timeout: TimeSpan.FromMinutes(3));
}
