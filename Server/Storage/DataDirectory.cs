namespace SecureXfer.Server.Storage;

/// <summary>The layout of the data directory. Everything the server keeps lives below <see cref="Root"/>.</summary>
public sealed class DataDirectory
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public DataDirectory(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string Database => Path.Combine(Root, "securexfer.db");

    /// <summary>User files: one directory per user id.</summary>
    public string Files => Path.Combine(Root, "files");

    /// <summary>Uploads in progress. On the same file system as <see cref="Files"/>, so commit is a rename.</summary>
    public string Staging => Path.Combine(Root, "staging");

    public string Tls => Path.Combine(Root, "tls");

    /// <summary>Copies of the database taken before schema upgrades.</summary>
    public string Backups => Path.Combine(Root, "backups");

    /// <summary>The Data Protection key ring (it encrypts stored remote credentials).</summary>
    public string Keys => Path.Combine(Root, "keys");

    public string JwtKey => Path.Combine(Root, "jwt-signing.key");

    public string InitialAdminPassword => Path.Combine(Root, "initial-admin-password");

    /// <summary>
    /// Locked by the servers running on this directory and by a restore into it: never both. A
    /// server on SQLite locks it alone; servers on a shared PostgreSQL database share it.
    /// </summary>
    public string LockFile => Path.Combine(Root, "server.lock");

    /// <summary>The marker of versions that ran one server per directory; found at start-up, the last run did not stop cleanly. Servers now keep one each in <c>running/</c>.</summary>
    public string RunningMarker => Path.Combine(Root, "server.running");

    /// <summary>
    /// Creates the layout, and makes the root and the database private to the server's account
    /// even when the directory already existed (a container volume, say) with looser modes.
    /// </summary>
    public void EnsureCreated(bool withDatabaseFile = true)
    {
        foreach (var directory in new[] { Root, Files, Staging, Tls })
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, OwnerOnly);
            }
        }

        File.SetUnixFileMode(Root, OwnerOnly);
        if (withDatabaseFile && !File.Exists(Database))
        {
            // SQLite takes an empty file as a new database, and gives its -wal and -shm files the same mode.
            using var empty = new FileStream(Database, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }

        foreach (var file in new[] { Database, Database + "-wal", Database + "-shm" }.Where(File.Exists))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>
    /// The directory to this process alone (a server, or a restore) until the returned handle is
    /// closed; null while another holds it. An advisory lock (flock), so it also ends with the process.
    /// </summary>
    public FileStream? TryLockExclusive() => TryLock(shared: false);

    /// <summary>The lock shared with other servers of one PostgreSQL database (still never with a restore); null while a restore or a SQLite server holds it.</summary>
    public FileStream? TryLock(bool shared)
    {
        try
        {
            if (!File.Exists(LockFile))
            {
                using (new FileStream(LockFile, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.Write,
                    Share = FileShare.ReadWrite,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                }))
                {
                }
            }

            // .NET takes FileShare.None as flock(LOCK_EX) and other sharing as LOCK_SH; a shared
            // lock is taken on every file system only when the file is opened for reading alone.
            return new FileStream(LockFile, FileMode.Open, shared ? FileAccess.Read : FileAccess.ReadWrite, shared ? FileShare.ReadWrite : FileShare.None);
        }
        catch (IOException) when (File.Exists(LockFile))
        {
            return null;
        }
    }

    /// <summary>
    /// Runs <paramref name="setup"/> while holding <c>DATA/setup.lock</c> exclusively: servers
    /// starting together on one directory create the certificate, signing key and first admin
    /// one after the other, so the second finds what the first made instead of making its own.
    /// </summary>
    public async Task<T> WithSetupLockAsync<T>(Func<Task<T>> setup, CancellationToken cancellationToken)
    {
        // No deadline: the other may be re-hashing every tree after a crash, which takes as long as it takes.
        var path = Path.Combine(Root, "setup.lock");
        while (true)
        {
            FileStream? held = null;
            try
            {
                held = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using (held)
            {
                return await setup().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes a secret file readable by the owner only; the mode is set before any byte is written.</summary>
    public static void WriteSecret(string path, string content)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: true);
    }
}
