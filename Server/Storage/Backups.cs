using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecureXfer.Server.Hosting;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Paths;

namespace SecureXfer.Server.Storage;

/// <summary>What a backup holds, written last into it: a directory without it is not a finished backup.</summary>
public sealed record BackupManifest(int Format, int Schema, DateTime CreatedUtc, long Files, long Bytes);

/// <summary>A backup or restore that cannot go on, and why; nothing was changed in the data directory.</summary>
public sealed class BackupException(string message) : Exception(message);

/// <summary>
/// Online backups of a data directory, and their restore. A backup is itself a data directory
/// (database, file tree, key ring, signing key, generated certificate) plus <c>backup.json</c>:
/// <list type="number">
/// <item>the database is copied with SQLite's online backup API, a consistent snapshot taken
/// while the server goes on writing;</item>
/// <item>the file tree of every user in that snapshot is copied file by file; published files
/// are only ever replaced by a rename, so each copy is one whole version;</item>
/// <item>the copy's records are then brought in step with the copied files, as after an unclean
/// stop: files committed, replaced or deleted during the copy get their true hash, a record or
/// none. Uploads in progress are not part of a backup; their clients start them again.</item>
/// </list>
/// A restore checks the backup whole (manifest, database integrity, every file's size and
/// SHA-256) before it touches the data directory, and refuses while a server runs on it.
/// </summary>
public static class Backups
{
    public const string ManifestName = "backup.json";
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static async Task<BackupManifest> TakeAsync(DataDirectory data, string to, CancellationToken cancellationToken)
    {
        if (!File.Exists(data.Database) || new FileInfo(data.Database).Length == 0)
        {
            throw new BackupException($"{data.Root} holds no SecureXfer database to back up.");
        }

        var target = new DataDirectory(to);
        if (Directory.Exists(target.Root) && Directory.EnumerateFileSystemEntries(target.Root).Any())
        {
            throw new BackupException($"{target.Root} is not empty; back up into a new directory.");
        }

        TreeCopy.CreatePrivate(target.Root);
        SqliteCopy.Take(Database.Sqlite(data).ConnectionString, target.Database);
        var users = UserIds(target.Database);
        var copied = await TreeCopy.CopyAsync(data.Files, target.Files, cancellationToken, name => users.Contains(name)).ConfigureAwait(false);
        TreeCopy.CreatePrivate(target.Files);

        // Secrets stay owner-only in the copy whatever their modes were.
        await TreeCopy.CopyAsync(data.Keys, target.Keys, cancellationToken).ConfigureAwait(false);
        await TreeCopy.CopyAsync(data.Tls, target.Tls, cancellationToken).ConfigureAwait(false);
        if (File.Exists(data.JwtKey))
        {
            await TreeCopy.CopyFileAsync(data.JwtKey, target.JwtKey, cancellationToken).ConfigureAwait(false);
        }

        foreach (var secret in new[] { target.Keys, target.Tls, target.JwtKey })
        {
            TreeCopy.MakePrivate(secret);
        }

        RecordCopiedFiles(target.Database, copied);
        var (files, bytes) = Totals(target.Database);
        var manifest = new BackupManifest(FormatVersion, Schema(target.Database), DateTime.UtcNow, files, bytes);
        var manifestPath = Path.Combine(target.Root, ManifestName);
        await File.WriteAllTextAsync(manifestPath + ".tmp", JsonSerializer.Serialize(manifest, Json), cancellationToken).ConfigureAwait(false);
        File.Move(manifestPath + ".tmp", manifestPath);
        Durability.FlushDirectory(target.Root);
        return manifest;
    }

    /// <summary>Checks a backup whole: its manifest, its database, and the size and SHA-256 of every file it records.</summary>
    public static async Task<BackupManifest> VerifyAsync(string from, CancellationToken cancellationToken)
    {
        var backup = new DataDirectory(from);
        var manifestPath = Path.Combine(backup.Root, ManifestName);
        if (!File.Exists(manifestPath))
        {
            throw new BackupException($"{backup.Root} is not a finished SecureXfer backup (no {ManifestName}).");
        }

        var manifest = JsonSerializer.Deserialize<BackupManifest>(await File.ReadAllTextAsync(manifestPath, cancellationToken).ConfigureAwait(false), Json)
            ?? throw new BackupException($"{manifestPath} is empty.");
        if (manifest.Format != FormatVersion)
        {
            throw new BackupException($"{manifestPath}: backup format {manifest.Format} is not one this server reads ({FormatVersion}).");
        }

        if (manifest.Schema > SchemaMigrator.LatestVersion)
        {
            throw new BackupException($"The backup is at schema {manifest.Schema}, newer than this server knows ({SchemaMigrator.LatestVersion}). Restore it with a newer server.");
        }

        using var connection = Open(backup.Database, readOnly: true);
        using (var check = connection.CreateCommand())
        {
            check.CommandText = "PRAGMA integrity_check;";
            var result = check.ExecuteScalar() as string;
            if (!string.Equals(result, "ok", StringComparison.Ordinal))
            {
                throw new BackupException($"The backup's database is damaged: {result}");
            }
        }

        using var query = connection.CreateCommand();
        query.CommandText = "SELECT owner_id, path, size, sha256 FROM files;";
        using var reader = query.ExecuteReader();
        long files = 0, bytes = 0;
        while (reader.Read())
        {
            var path = Path.Combine(backup.Files, reader.GetInt64(0).ToString(CultureInfo.InvariantCulture), reader.GetString(1).TrimStart('/'));
            var size = reader.GetInt64(2);
            var info = new FileInfo(path);
            if (!info.Exists || info.LinkTarget is not null || info.Length != size)
            {
                throw new BackupException($"The backup is missing {path}, or it has the wrong size.");
            }

            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024, FileOptions.SequentialScan | FileOptions.Asynchronous);
            var hash = Convert.ToHexString(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            if (!string.Equals(hash, reader.GetString(3), StringComparison.OrdinalIgnoreCase))
            {
                throw new BackupException($"{path} in the backup does not match its recorded SHA-256.");
            }

            files++;
            bytes += size;
        }

        return files != manifest.Files || bytes != manifest.Bytes
            ? throw new BackupException($"The backup records {files} files ({bytes} bytes) but its manifest says {manifest.Files} ({manifest.Bytes}).")
            : manifest;
    }

    /// <summary>
    /// Restores a verified backup into <paramref name="data"/>. A data directory that already holds
    /// a database is replaced only with <paramref name="force"/>; its entries are moved aside into
    /// <c>replaced-TIME/</c> inside it, not deleted. Refused while a server runs on the directory.
    /// </summary>
    public static async Task<(BackupManifest Manifest, string? MovedAside)> RestoreAsync(string from, DataDirectory data, bool force, CancellationToken cancellationToken)
    {
        var manifest = await VerifyAsync(from, cancellationToken).ConfigureAwait(false);
        TreeCopy.CreatePrivate(data.Root);
        using var exclusive = data.TryLockExclusive()
            ?? throw new BackupException($"A server is running on {data.Root}; stop it before restoring.");
        if (File.Exists(data.Database) && new FileInfo(data.Database).Length > 0 && !force)
        {
            throw new BackupException($"{data.Root} already holds a SecureXfer database; add --force to replace it (what is there now is moved aside, not deleted).");
        }

        var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var incoming = Path.Combine(data.Root, ".restoring-" + stamp);
        try
        {
            var copied = await TreeCopy.CopyAsync(Path.GetFullPath(from), incoming, cancellationToken, name => name != ManifestName).ConfigureAwait(false);
            CheckCopyMatchesRecords(new DataDirectory(incoming), copied);
        }
        catch
        {
            Directory.Delete(incoming, recursive: true);
            throw;
        }

        // Swap: current entries aside, restored ones in. Any failure puts everything back as it was.
        var current = Directory.EnumerateFileSystemEntries(data.Root)
            .Where(e => !Path.GetFileName(e).StartsWith(".restoring-", StringComparison.Ordinal)
                && !Path.GetFileName(e).StartsWith("replaced-", StringComparison.Ordinal)
                && !string.Equals(e, data.LockFile, StringComparison.Ordinal))
            .ToList();
        var aside = current.Count > 0 ? Path.Combine(data.Root, "replaced-" + stamp) : null;
        var moved = new Stack<(string From, string To)>();
        try
        {
            if (aside is not null)
            {
                TreeCopy.CreatePrivate(aside);
                foreach (var entry in current)
                {
                    MoveEntry(entry, Path.Combine(aside, Path.GetFileName(entry)), moved);
                }
            }

            foreach (var entry in Directory.EnumerateFileSystemEntries(incoming).ToList())
            {
                MoveEntry(entry, Path.Combine(data.Root, Path.GetFileName(entry)), moved);
            }
        }
        catch
        {
            while (moved.TryPop(out var step))
            {
                MoveEntry(step.To, step.From, null);
            }

            throw;
        }

        Directory.Delete(incoming, recursive: true);
        data.EnsureCreated();
        Durability.FlushDirectory(data.Root);
        return (manifest, aside);
    }

    /// <summary>The files restored are the files the backup records, byte for byte (the hashes were taken as they were copied).</summary>
    private static void CheckCopyMatchesRecords(DataDirectory copy, IReadOnlyList<TreeCopy.CopiedFile> copied)
    {
        var byPath = copied.ToDictionary(f => f.Relative, StringComparer.Ordinal);
        using var connection = Open(copy.Database, readOnly: true);
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT owner_id, path, size, sha256 FROM files;";
        using var reader = query.ExecuteReader();
        while (reader.Read())
        {
            var relative = "files/" + reader.GetInt64(0).ToString(CultureInfo.InvariantCulture) + reader.GetString(1);
            if (!byPath.TryGetValue(relative, out var file) || file.Size != reader.GetInt64(2) || !HashText.Sha256Equals(file.Sha256, reader.GetString(3)))
            {
                throw new BackupException($"{relative} changed in the backup while it was being restored.");
            }
        }

        SqliteConnection.ClearAllPools();
    }

    private static void MoveEntry(string from, string to, Stack<(string From, string To)>? moved)
    {
        if (Directory.Exists(from))
        {
            Directory.Move(from, to);
        }
        else
        {
            File.Move(from, to);
        }

        moved?.Push((from, to));
    }

    /// <summary>
    /// Makes the copy's records say exactly what was copied: the hash of the bytes copied, their
    /// size and time; records of files not copied (deleted meanwhile) go, files committed meanwhile
    /// get one. Staged uploads are not copied, so their sessions go too.
    /// </summary>
    private static void RecordCopiedFiles(string database, IReadOnlyList<TreeCopy.CopiedFile> copied)
    {
        using var connection = Open(database);
        using var transaction = connection.BeginTransaction();
        Execute(connection, """
            DELETE FROM upload_chunks;
            DELETE FROM upload_sessions;
            CREATE TEMP TABLE copied (owner_id INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, modified_ticks INTEGER NOT NULL, PRIMARY KEY (owner_id, path));
            """);
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO copied VALUES ($owner, $path, $size, $sha, $ticks)";
            var owner = insert.Parameters.Add("$owner", SqliteType.Integer);
            var path = insert.Parameters.Add("$path", SqliteType.Text);
            var size = insert.Parameters.Add("$size", SqliteType.Integer);
            var sha = insert.Parameters.Add("$sha", SqliteType.Text);
            var ticks = insert.Parameters.Add("$ticks", SqliteType.Integer);
            foreach (var file in copied)
            {
                // files/<owner id>/<path>; names the server would not have written are copied but not recorded.
                var slash = file.Relative.IndexOf('/', StringComparison.Ordinal);
                var remote = slash < 0 ? null : "/" + file.Relative[(slash + 1)..];
                if (remote is null || !long.TryParse(file.Relative[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                    || !RemotePath.TryParse(remote, out var parsed, out _) || parsed.Value != remote)
                {
                    continue;
                }

                (owner.Value, path.Value, size.Value, sha.Value, ticks.Value) = (id, remote, file.Size, file.Sha256, file.ModifiedUtc.Ticks);
                insert.ExecuteNonQuery();
            }
        }

        Execute(connection, """
            DELETE FROM files WHERE NOT EXISTS (SELECT 1 FROM copied c WHERE c.owner_id = files.owner_id AND c.path = files.path);
            INSERT INTO files (owner_id, path, size, sha256, modified_ticks)
                SELECT owner_id, path, size, sha256, modified_ticks FROM copied WHERE owner_id IN (SELECT id FROM users)
                ON CONFLICT (owner_id, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, modified_ticks = excluded.modified_ticks;
            DROP TABLE copied;
            """);
        transaction.Commit();
    }

    private static HashSet<string> UserIds(string database)
    {
        using var connection = Open(database, readOnly: true);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM users;";
        using var reader = command.ExecuteReader();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0).ToString(CultureInfo.InvariantCulture));
        }

        return ids;
    }

    private static (long Files, long Bytes) Totals(string database)
    {
        using var connection = Open(database, readOnly: true);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(size), 0) FROM files;";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static int Schema(string database)
    {
        using var connection = Open(database, readOnly: true);
        return SchemaMigrator.CurrentVersion(connection);
    }

    private static SqliteConnection Open(string database, bool readOnly = false)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = database,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
