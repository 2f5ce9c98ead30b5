using System.Globalization;
using Microsoft.Data.Sqlite;
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
    public static string? Run(DataDirectory data, Database database, Action<string> announce)
    {
        string? copy = null;
        SchemaMigrator.Migrate(database, current =>
        {
            Directory.CreateDirectory(data.Backups, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            if (database.IsSqlite)
            {
                copy = Path.Combine(data.Backups, $"securexfer-schema{current}-{stamp}.db");
                SqliteCopy.Take(database.ConnectionString, copy);
            }
            else
            {
                copy = Path.Combine(data.Backups, $"securexfer-schema{current}-{stamp}.sql");
                PostgresDump.Take(database.ConnectionString, copy);
            }

            announce($"Upgrading the database from schema {current} to {SchemaMigrator.LatestVersion}; the database as it was is in {copy}.");
        });
        return copy;
    }
}

/// <summary>Dumps a PostgreSQL database with <c>pg_dump</c> (plain SQL, restorable with <c>psql</c>).</summary>
public static class PostgresDump
{
    public static void Take(string connectionString, string destination)
    {
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        using (new FileStream(destination, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
        }

        var start = new System.Diagnostics.ProcessStartInfo("pg_dump")
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--no-owner", "--no-password", "--file", destination, "--host", settings.Host ?? "localhost", "--port", settings.Port.ToString(CultureInfo.InvariantCulture), "--username", settings.Username ?? string.Empty, settings.Database ?? string.Empty })
        {
            start.ArgumentList.Add(arg);
        }

        // The password goes by the environment, never on a command line others can read.
        if (!string.IsNullOrEmpty(settings.Password))
        {
            start.Environment["PGPASSWORD"] = settings.Password;
        }

        // The dump connects as securely as the server does.
        start.Environment["PGSSLMODE"] = settings.SslMode switch
        {
            Npgsql.SslMode.Disable => "disable",
            Npgsql.SslMode.Allow => "allow",
            Npgsql.SslMode.Require => "require",
            Npgsql.SslMode.VerifyCA => "verify-ca",
            Npgsql.SslMode.VerifyFull => "verify-full",
            _ => "prefer",
        };
        if (!string.IsNullOrEmpty(settings.RootCertificate))
        {
            start.Environment["PGSSLROOTCERT"] = settings.RootCertificate;
        }

        System.Diagnostics.Process process;
        try
        {
            process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("pg_dump did not start.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            File.Delete(destination);
            throw new InvalidOperationException("The database must be copied before its schema is upgraded, and pg_dump was not found; install the PostgreSQL client (postgresql-client) or upgrade from a machine that has it.");
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                File.Delete(destination);
                throw new InvalidOperationException($"pg_dump could not copy the database before its upgrade: {errors.Trim()}");
            }
        }
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
