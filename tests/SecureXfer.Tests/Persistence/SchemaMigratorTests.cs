using Microsoft.Data.Sqlite;
using SecureXfer.Server.Persistence;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Persistence;

public sealed class SchemaMigratorTests : IDisposable
{
    private readonly TempDir _dir = new("sx-schema");

    private string ConnectionString => $"Data Source={_dir.Combine("test.db")};Pooling=False";

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void An_empty_database_is_brought_to_the_latest_version_and_a_second_run_changes_nothing()
    {
        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(ConnectionString));
        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(ConnectionString));
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('users', 'files', 'upload_sessions', 'upload_chunks')";
        Assert.Equal(4L, command.ExecuteScalar());
    }

    [Fact]
    public void A_database_at_an_older_version_is_upgraded_keeping_its_rows()
    {
        SchemaMigrator.Migrate(ConnectionString);
        using (var connection = new SqliteConnection(ConnectionString))
        {
            connection.Open();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO users (username, password_hash, role, security_stamp, created_at) VALUES ('old', 'h', 'user', 's', 0)";
            insert.ExecuteNonQuery();
        }

        var next = SchemaMigrator.LatestVersion + 1;
        var upgraded = SchemaMigrator.Migrations.Append(new SchemaMigration(next, "nickname", "ALTER TABLE users ADD COLUMN nickname TEXT NULL; UPDATE users SET nickname = username;")).ToList();
        Assert.Equal(next, SchemaMigrator.Migrate(ConnectionString, upgraded));

        using var check = new SqliteConnection(ConnectionString);
        check.Open();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT nickname FROM users WHERE username = 'old'";
        Assert.Equal("old", query.ExecuteScalar());
        Assert.Equal(next, SchemaMigrator.CurrentVersion(check));
    }

    [Fact]
    public void Users_of_a_first_schema_database_get_a_version_and_an_update_time_on_upgrade()
    {
        SchemaMigrator.Migrate(ConnectionString, SchemaMigrator.Migrations.Take(1).ToList());
        using (var connection = new SqliteConnection(ConnectionString))
        {
            connection.Open();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO users (username, password_hash, role, security_stamp, created_at) VALUES ('first', 'h', 'admin', 's', 1234)";
            insert.ExecuteNonQuery();
        }

        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(ConnectionString));
        using var check = new SqliteConnection(ConnectionString);
        check.Open();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT version || ',' || updated_at || ',' || coalesce(display_name, '-') FROM users WHERE username = 'first'";
        Assert.Equal("1,1234,-", query.ExecuteScalar());
    }

    [Fact]
    public void A_failing_step_leaves_the_database_at_the_previous_whole_version()
    {
        SchemaMigrator.Migrate(ConnectionString);
        var next = SchemaMigrator.LatestVersion + 1;
        var broken = SchemaMigrator.Migrations.Append(new SchemaMigration(next, "broken", "CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;")).ToList();
        Assert.ThrowsAny<SqliteException>(() => SchemaMigrator.Migrate(ConnectionString, broken));

        using var check = new SqliteConnection(ConnectionString);
        check.Open();
        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.CurrentVersion(check));
        using var query = check.CreateCommand();
        query.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'half'";
        Assert.Equal(0L, query.ExecuteScalar());
    }

    [Fact]
    public void A_database_newer_than_the_server_is_refused()
    {
        SchemaMigrator.Migrate(ConnectionString);
        using (var connection = new SqliteConnection(ConnectionString))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 999";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<InvalidOperationException>(() => SchemaMigrator.Migrate(ConnectionString));
        Assert.Contains("newer", error.Message, StringComparison.Ordinal);
    }
}
