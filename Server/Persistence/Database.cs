using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Storage;

namespace SecureXfer.Server.Persistence;

public enum DatabaseProvider
{
    /// <summary>One file in the data directory; the zero-configuration default.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database several instances can share.</summary>
    Postgres,
}

/// <summary>
/// The database the server keeps its records in: the provider and how to reach it. The one
/// place that knows which provider is in use; everything else asks it.
/// </summary>
public sealed class Database
{
    private Database(DatabaseProvider provider, string connectionString)
    {
        Provider = provider;
        ConnectionString = connectionString;
    }

    public DatabaseProvider Provider { get; }

    /// <summary>How to connect. For PostgreSQL it holds a password: never print it.</summary>
    public string ConnectionString { get; }

    public bool IsSqlite => Provider == DatabaseProvider.Sqlite;

    public static Database Sqlite(DataDirectory data) => new(DatabaseProvider.Sqlite, new SqliteConnectionStringBuilder
    {
        DataSource = data.Database,
        ForeignKeys = true,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString());

    public static Database Postgres(string connectionString) => new(DatabaseProvider.Postgres, new NpgsqlConnectionStringBuilder(connectionString)
    {
        // Times are kept as numbers, never as timestamps; no time zone setting can change them.
        CommandTimeout = 30,
    }.ToString());

    /// <summary>The database the settings name.</summary>
    public static Database For(SecureXferOptions options, DataDirectory data) =>
        string.Equals(options.Database.Provider, DatabaseOptions.Postgres, StringComparison.OrdinalIgnoreCase)
            ? Postgres(options.Database.ConnectionString ?? throw new InvalidOperationException("SecureXfer:Database:ConnectionString is required for postgres."))
            : Sqlite(data);

    public void Configure(DbContextOptionsBuilder builder)
    {
        if (IsSqlite)
        {
            builder.UseSqlite(ConnectionString);
        }
        else
        {
            builder.UseNpgsql(ConnectionString);
        }
    }

    public DbConnection CreateConnection() => IsSqlite ? new SqliteConnection(ConnectionString) : new NpgsqlConnection(ConnectionString);

    /// <summary>Where it is, for messages: the file, or the PostgreSQL host and database (never the password).</summary>
    public string Describe()
    {
        if (IsSqlite)
        {
            return new SqliteConnectionStringBuilder(ConnectionString).DataSource;
        }

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"PostgreSQL database '{builder.Database}' on {builder.Host}:{builder.Port}";
    }
}

/// <summary>Provider-neutral readings of database errors.</summary>
public static class DbErrors
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteFull = 13;
    private const int SqliteConstraint = 19;

    /// <summary>A unique or primary-key constraint refused the write (someone else got there first).</summary>
    public static bool IsUniqueViolation(Exception? error) => Find(error) switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode == SqliteConstraint && sqlite.SqliteExtendedErrorCode is 1555 or 2067,
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>The database could not write for lack of disk space.</summary>
    public static bool IsDiskFull(Exception? error) => Find(error) switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode == SqliteFull,
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.DiskFull,
        _ => false,
    };

    /// <summary>Another writer was in the way (busy, a serialization failure, a deadlock); trying again can succeed.</summary>
    public static bool IsContention(Exception? error) => Find(error) switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteBusy or SqliteLocked,
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected,
        _ => false,
    };

    private static DbException? Find(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is SqliteException or PostgresException)
            {
                return (DbException)error;
            }
        }

        return null;
    }
}
