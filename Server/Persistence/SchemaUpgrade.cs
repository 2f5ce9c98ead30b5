using System.Globalization;
using Microsoft.Data.Sqlite;
using SecureXfer.Server.Hosting;
using SecureXfer.Server.Storage;

namespace SecureXfer.Server.Persistence;

/// <summary>
/// Start-up's schema step: a database at an older schema is first copied, whole and consistent,
/// into <c>DATA/backups/</c>, then upgraded. A failed upgrade leaves the database at its last
/// whole version (each step is one transaction) and the copy to go back to.
/// </summary>
public static class SchemaUpgrade
{
    /// <summary>Brings the database to the newest schema; returns the copy taken first, if any.</summary>
    public static string? Run(DataDirectory data, Action<string> announce)
    {
        var connectionString = ServerServiceCollectionExtensions.DatabaseConnectionString(data);
        int current;
        using (var connection = new SqliteConnection(connectionString))
        {
            connection.Open();
            current = SchemaMigrator.CurrentVersion(connection);
        }

        string? copy = null;
        if (current > 0 && current < SchemaMigrator.LatestVersion)
        {
            Directory.CreateDirectory(data.Backups, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            copy = Path.Combine(data.Backups, $"securexfer-schema{current}-{stamp}.db");
            SqliteCopy.Take(connectionString, copy);
            announce($"Upgrading the database from schema {current} to {SchemaMigrator.LatestVersion}; the database as it was is in {copy}.");
        }

        SchemaMigrator.Migrate(connectionString);
        return copy;
    }
}

/// <summary>Copies a live SQLite database with its online backup API: a consistent snapshot, even while others write.</summary>
public static class SqliteCopy
{
    public static void Take(string sourceConnectionString, string destination)
    {
        // The copy holds everything the database does (password hashes included): private from its first byte.
        using (new FileStream(destination, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
        }

        using var source = new SqliteConnection(sourceConnectionString);
        using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destination, Pooling = false }.ToString());
        source.Open();
        target.Open();
        source.BackupDatabase(target);
        using var checkpoint = target.CreateCommand();

        // A copy is one self-contained file: no -wal beside it.
        checkpoint.CommandText = "PRAGMA journal_mode = DELETE;";
        checkpoint.ExecuteNonQuery();
    }
}
