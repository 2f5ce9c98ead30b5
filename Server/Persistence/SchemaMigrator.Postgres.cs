using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace SecureXfer.Server.Persistence;

public static partial class SchemaMigrator
{
    // pg_advisory_lock key: instances starting together migrate one after the other.
    private const long MigrationLock = 0x5358_4D49_4752;

    /// <summary>
    /// Applies every step newer than the database's version, on either provider. Returns the
    /// version reached. <paramref name="beforeUpgrade"/> runs first when an existing schema is to
    /// be upgraded (not for a new database), given its version; on PostgreSQL it runs inside the
    /// migration lock, so of instances starting together only the one that upgrades calls it.
    /// </summary>
    public static int Migrate(Database database, Action<int>? beforeUpgrade = null)
    {
        if (database.IsSqlite)
        {
            var before = CurrentVersion(database);
            if (before > 0 && before < LatestVersion)
            {
                beforeUpgrade?.Invoke(before);
            }

            return Migrate(database.ConnectionString);
        }

        // No command timeout here: an instance waits for another's upgrade (and its dump), however long.
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { CommandTimeout = 0, Pooling = false }.ToString());
        connection.Open();
        Execute(connection, $"SELECT pg_advisory_lock({MigrationLock})");
        try
        {
            Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
            var current = PostgresVersion(connection);
            if (current > LatestVersion)
            {
                throw new InvalidOperationException($"The database is at schema version {current}, newer than this server knows ({LatestVersion}). Upgrade the server.");
            }

            if (current > 0 && current < LatestVersion)
            {
                beforeUpgrade?.Invoke(current);
            }

            foreach (var migration in Migrations.Where(m => m.Version > current))
            {
                using var transaction = connection.BeginTransaction();
                using (var command = connection.CreateCommand())
                {
                    command.Transaction = transaction;
                    command.CommandText = (migration.PostgresSql ?? throw new InvalidOperationException($"Schema step {migration.Version} has no PostgreSQL form."))
                        + $";\nDELETE FROM schema_version;\nINSERT INTO schema_version (version) VALUES ({migration.Version});";
                    command.ExecuteNonQuery();
                }

                transaction.Commit();
                current = migration.Version;
            }

            return current;
        }
        finally
        {
            Execute(connection, $"SELECT pg_advisory_unlock({MigrationLock})");
        }
    }

    /// <summary>The schema version the database is at; 0 for an empty one.</summary>
    public static int CurrentVersion(Database database)
    {
        using var connection = database.CreateConnection();
        connection.Open();
        if (connection is SqliteConnection sqlite)
        {
            return CurrentVersion(sqlite);
        }

        using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT to_regclass('schema_version') IS NOT NULL";
        return exists.ExecuteScalar() is true ? PostgresVersion((NpgsqlConnection)connection) : 0;
    }

    private static int PostgresVersion(NpgsqlConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
