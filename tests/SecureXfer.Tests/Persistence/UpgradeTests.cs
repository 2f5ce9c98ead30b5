using Microsoft.Data.Sqlite;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Persistence;

/// <summary>
/// A data directory written by the first released server (schema 1; Fixtures/first-schema-data.tar.gz,
/// made by that version with its admin password <see cref="FixtureAdminPassword"/> and two files
/// uploaded over SXP; its keys left out) is upgraded by today's server at start-up: the database
/// is copied first, then migrated, and everything in it keeps working.
/// </summary>
public sealed class UpgradeTests : IDisposable
{
    private const string FixtureAdminPassword = "Fixture-Admin-Pass-1";
    private const string HelloSha = "8b8d9d32e1bac771221b9a61f8d8720bc8536ab4414fc6ec3c392c43843f48b1";
    private const string BlobSha = "130101a3879677d1f7e50734e6bc763acfc07ed3db9411518e37da08f74ecd95";
    private readonly TempDir _work = new("sx-upgrade");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task A_first_schema_data_directory_is_backed_up_then_upgraded_and_keeps_its_accounts_and_files()
    {
        await using var server = new ServerProcess();
        Directory.CreateDirectory(Path.GetDirectoryName(server.DataDir)!);
        var archive = Path.Combine(Repo.Root, "tests", "SecureXfer.Tests", "Fixtures", "first-schema-data.tar.gz");
        var (code, _, stderr) = await Tool.RunAsync("tar", ["-xzf", archive, "-C", Path.GetDirectoryName(server.DataDir)!]);
        Assert.True(code == 0, stderr);
        Assert.Equal(1, SchemaVersion(Path.Combine(server.DataDir, "securexfer.db")));

        await server.StartAgainAsync();
        Assert.Contains($"Upgrading the database from schema 1 to {SchemaMigrator.LatestVersion}", server.Output, StringComparison.Ordinal);

        // The copy taken before the upgrade is the first-schema database, private.
        var copy = Assert.Single(Directory.GetFiles(Path.Combine(server.DataDir, "backups"), "securexfer-schema1-*.db"));
        Assert.Equal(1, SchemaVersion(copy));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(copy));
        Assert.Equal(SchemaMigrator.LatestVersion, server.Scalar("PRAGMA user_version"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(server.DataDir, "securexfer.db")));

        // The first version's admin logs in with its password; its files are there with their hashes.
        await using (var client = await server.ConnectAsync("admin", FixtureAdminPassword))
        {
            Assert.Equal(HelloSha, (await client.StatAsync("/docs/hello.txt", CancellationToken.None)).Sha256);
            var blob = _work.Combine("blob.bin");
            var result = await client.DownloadAsync("/data/blob.bin", blob, new TransferOptions(), null, CancellationToken.None);
            Assert.Equal(BlobSha, result.Sha256);
            Assert.Equal(BlobSha, TestFiles.Sha256(blob));
            var hello = _work.Combine("hello.txt");
            await client.DownloadAsync("/docs/hello.txt", hello, new TransferOptions(), null, CancellationToken.None);
            Assert.Equal("hello from the first schema\n", await File.ReadAllTextAsync(hello));
        }

        // What later schemas added works on the upgraded data: users with versions, keys, audit.
        var token = await server.LoginAsync("admin", FixtureAdminPassword);
        Assert.NotNull(token);
        var bob = await server.AddUserAsync("bob", "bob-password-after-upgrade", quotaBytes: 1 << 20);
        Assert.NotNull(await server.LoginAsync("bob", "bob-password-after-upgrade"));
        Assert.Equal(1, server.Scalar($"SELECT version FROM users WHERE id = {bob}"));
        Assert.True(server.Scalar("SELECT count(*) FROM audit_log") > 0);

        // A second start finds nothing to upgrade and takes no further copy.
        await server.TerminateAsync(TimeSpan.FromSeconds(60));
        await server.StartAgainAsync();
        Assert.Single(Directory.GetFiles(Path.Combine(server.DataDir, "backups")));
    }

    private static long SchemaVersion(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return SchemaMigrator.CurrentVersion(connection);
    }
}
