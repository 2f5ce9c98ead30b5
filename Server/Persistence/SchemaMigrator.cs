using Microsoft.Data.Sqlite;

namespace SecureXfer.Server.Persistence;

/// <summary>One schema step: applied once, in order, inside a transaction.</summary>
public sealed record SchemaMigration(int Version, string Name, string Sql);

/// <summary>
/// Brings a SQLite database up to the newest schema. The applied version is kept in
/// <c>PRAGMA user_version</c>; each step and its version bump commit together, so a crash
/// leaves the database at a whole version. A database newer than this build is refused.
/// </summary>
public static class SchemaMigrator
{
    public static IReadOnlyList<SchemaMigration> Migrations { get; } =
    [
        new(1, "initial", """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                username TEXT NOT NULL COLLATE NOCASE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                quota_bytes INTEGER NULL,
                disabled INTEGER NOT NULL DEFAULT 0,
                security_stamp TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX ix_users_username ON users (username);

            CREATE TABLE files (
                owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                size INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                modified_ticks INTEGER NOT NULL,
                PRIMARY KEY (owner_id, path)
            );

            CREATE TABLE upload_sessions (
                id TEXT NOT NULL PRIMARY KEY,
                owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                size INTEGER NOT NULL,
                chunk_size INTEGER NOT NULL,
                replace_existing INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX ix_upload_sessions_owner_path ON upload_sessions (owner_id, path);

            CREATE TABLE upload_chunks (
                upload_id TEXT NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
                chunk_index INTEGER NOT NULL,
                crc32c INTEGER NOT NULL,
                PRIMARY KEY (upload_id, chunk_index)
            );
            """),
        new(2, "user administration", """
            ALTER TABLE users ADD COLUMN display_name TEXT NULL;
            ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
            ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
            UPDATE users SET updated_at = created_at;
            """),
        new(3, "refresh tokens, api keys, revoked tokens", """
            CREATE TABLE refresh_tokens (
                id TEXT NOT NULL PRIMARY KEY,
                family_id TEXT NOT NULL,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                secret_hash TEXT NOT NULL,
                stamp TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER NULL,
                revoked_at INTEGER NULL
            );
            CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);
            CREATE INDEX ix_refresh_tokens_user ON refresh_tokens (user_id);

            CREATE TABLE api_keys (
                id TEXT NOT NULL PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NULL,
                last_used_at INTEGER NULL,
                revoked_at INTEGER NULL
            );
            CREATE INDEX ix_api_keys_user ON api_keys (user_id);

            CREATE TABLE revoked_tokens (
                jti TEXT NOT NULL PRIMARY KEY,
                expires_at INTEGER NOT NULL
            );
            """),
        new(4, "audit log", """
            CREATE TABLE audit_log (
                seq INTEGER NOT NULL PRIMARY KEY,
                at INTEGER NOT NULL,
                actor_id INTEGER NULL,
                actor TEXT NULL,
                action TEXT NOT NULL,
                target TEXT NULL,
                source TEXT NULL,
                outcome TEXT NOT NULL,
                detail TEXT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            CREATE INDEX ix_audit_log_action ON audit_log (action);
            CREATE INDEX ix_audit_log_actor ON audit_log (actor_id);
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            """),
        new(5, "login bans", """
            CREATE TABLE login_bans (
                kind TEXT NOT NULL,
                subject TEXT NOT NULL,
                failures INTEGER NOT NULL,
                window_start INTEGER NOT NULL,
                banned_until INTEGER NULL,
                ban_count INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (kind, subject)
            );
            """),
        new(6, "idempotency keys", """
            CREATE TABLE idempotency_keys (
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                route TEXT NOT NULL,
                request_mac TEXT NOT NULL,
                status INTEGER NOT NULL,
                location TEXT NULL,
                body TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (user_id, key)
            );
            """),
        new(7, "remotes", """
            CREATE TABLE remotes (
                id TEXT NOT NULL PRIMARY KEY,
                owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                host TEXT NOT NULL,
                port INTEGER NOT NULL,
                user TEXT NOT NULL,
                password_protected TEXT NULL,
                private_key_protected TEXT NULL,
                host_key TEXT NULL,
                tls_fingerprint TEXT NULL,
                tls_name TEXT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX ix_remotes_owner_name ON remotes (owner_id, name);
            """),
        new(8, "scheduled jobs", """
            CREATE TABLE jobs (
                id TEXT NOT NULL PRIMARY KEY,
                owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                remote_id TEXT NOT NULL REFERENCES remotes (id) ON DELETE CASCADE,
                remote_path TEXT NOT NULL,
                local_path TEXT NOT NULL,
                direction TEXT NOT NULL,
                cron TEXT NOT NULL,
                delete_extra INTEGER NOT NULL,
                max_delete INTEGER NOT NULL,
                excludes TEXT NOT NULL,
                includes TEXT NOT NULL,
                enabled INTEGER NOT NULL,
                next_run_at INTEGER NULL,
                lease_until INTEGER NULL,
                lease_owner TEXT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX ix_jobs_owner_name ON jobs (owner_id, name);
            CREATE INDEX ix_jobs_due ON jobs (enabled, next_run_at);

            CREATE TABLE job_runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                trigger TEXT NOT NULL,
                started_at INTEGER NOT NULL,
                ended_at INTEGER NULL,
                status TEXT NOT NULL,
                copied INTEGER NOT NULL,
                updated INTEGER NOT NULL,
                deleted INTEGER NOT NULL,
                unchanged INTEGER NOT NULL,
                bytes INTEGER NOT NULL,
                errors TEXT NOT NULL
            );
            CREATE INDEX ix_job_runs_job ON job_runs (job_id, id);
            """),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Applies every step newer than the database's version. Returns the version reached.</summary>
    public static int Migrate(string connectionString, IReadOnlyList<SchemaMigration>? migrations = null)
    {
        migrations ??= Migrations;
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        Execute(connection, "PRAGMA journal_mode = WAL;");

        var current = CurrentVersion(connection);
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
        {
            throw new InvalidOperationException($"The database is at schema version {current}, newer than this server knows ({latest}). Upgrade the server.");
        }

        foreach (var migration in migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
        {
            using var transaction = connection.BeginTransaction();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = migration.Sql + $"\nPRAGMA user_version = {migration.Version};";
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            current = migration.Version;
        }

        return current;
    }

    public static int CurrentVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
