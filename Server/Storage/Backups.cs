using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Hosting;
using SecureXfer.Server.Persistence;

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
        SqliteCopy.Take(ServerServiceCollectionExtensions.DatabaseConnectionString(data), target.Database);
        var users = UserIds(target.Database);
        await TreeCopy.CopyAsync(data.Files, target.Files, cancellationToken, name => users.Contains(name)).ConfigureAwait(false);
        TreeCopy.CreatePrivate(target.Files);
        await TreeCopy.CopyAsync(data.Keys, target.Keys, cancellationToken).ConfigureAwait(false);
        await TreeCopy.CopyAsync(data.Tls, target.Tls, cancellationToken).ConfigureAwait(false);
        if (File.Exists(data.JwtKey))
        {
            await TreeCopy.CopyFileAsync(data.JwtKey, target.JwtKey, cancellationToken).ConfigureAwait(false);
        }

        // Staged uploads are not copied, so their sessions go; then the records meet the copied files.
        using (var connection = Open(target.Database))
        {
            Execute(connection, "DELETE FROM upload_chunks; DELETE FROM upload_sessions;");
        }

        await ReconcileAsync(target, cancellationToken).ConfigureAwait(false);
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
        await TreeCopy.CopyAsync(Path.GetFullPath(from), incoming, cancellationToken, name => name != ManifestName).ConfigureAwait(false);

        string? aside = null;
        var current = Directory.EnumerateFileSystemEntries(data.Root)
            .Where(e => !Path.GetFileName(e).StartsWith(".restoring-", StringComparison.Ordinal)
                && !Path.GetFileName(e).StartsWith("replaced-", StringComparison.Ordinal)
                && !string.Equals(e, data.LockFile, StringComparison.Ordinal))
            .ToList();
        if (current.Count > 0)
        {
            aside = Path.Combine(data.Root, "replaced-" + stamp);
            TreeCopy.CreatePrivate(aside);
            foreach (var entry in current)
            {
                MoveEntry(entry, Path.Combine(aside, Path.GetFileName(entry)));
            }
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(incoming))
        {
            MoveEntry(entry, Path.Combine(data.Root, Path.GetFileName(entry)));
        }

        Directory.Delete(incoming);
        data.EnsureCreated();
        Durability.FlushDirectory(data.Root);
        return (manifest, aside);
    }

    private static void MoveEntry(string from, string to)
    {
        if (Directory.Exists(from))
        {
            Directory.Move(from, to);
        }
        else
        {
            File.Move(from, to);
        }
    }

    private static async Task ReconcileAsync(DataDirectory copy, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOptions<SecureXferOptions>();
        services.AddSecureXferServer(copy);
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<StorageReconciler>().ReconcileTreesAsync(cancellationToken).ConfigureAwait(false);
        SqliteConnection.ClearAllPools();
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
