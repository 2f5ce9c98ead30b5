using Npgsql;

namespace SecureXfer.Server.Persistence;

/// <summary>
/// Locks that hold across the instances sharing one PostgreSQL database: session-level advisory
/// locks on a connection of their own, released when disposed (or when the connection dies with
/// its process). With SQLite there is only ever one server, and its in-process locks suffice.
/// </summary>
public sealed class ClusterLocks(Database database)
{
    // A pool of their own: lock holders then never take the connections the work under the lock needs.
    private readonly string _lockConnectionString = database.IsSqlite ? string.Empty : new NpgsqlConnectionStringBuilder(database.ConnectionString)
    {
        ApplicationName = "securexfer-locks",
        MaxPoolSize = 1000,
        KeepAlive = 30,
    }.ToString();

    /// <summary>The kinds of lock, so keys of different kinds never meet.</summary>
    public enum Space
    {
        /// <summary>One user's uploads: quota reservations, commits and takeovers, one at a time.</summary>
        UserUploads = 1,
    }

    /// <summary>Waits for the lock; null with SQLite (nothing to take).</summary>
    public async Task<IAsyncDisposable?> AcquireAsync(Space space, long key, CancellationToken cancellationToken)
    {
        if (database.IsSqlite)
        {
            return null;
        }

        var connection = new NpgsqlConnection(_lockConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Waiting is the point: no command timeout (the caller's token ends a wait).
            await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(@space, @key)", connection) { CommandTimeout = 0 };
            command.Parameters.AddWithValue("space", (int)space);
            command.Parameters.AddWithValue("key", unchecked((int)key));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return new Held(connection, (int)space, unchecked((int)key));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed class Held(NpgsqlConnection connection, int space, int key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@space, @key)", connection);
                command.Parameters.AddWithValue("space", space);
                command.Parameters.AddWithValue("key", key);
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            finally
            {
                // Closing the session releases the lock in any case.
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
