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

    /// <summary>Held (shared) by every server running on this directory; a restore needs it alone.</summary>
    public string LockFile => Path.Combine(Root, "server.lock");

    /// <summary>Present while a server runs on this directory; found at start-up, it means the last run did not stop cleanly.</summary>
    public string RunningMarker => Path.Combine(Root, "server.running");

    /// <summary>
    /// Creates the layout, and makes the root and the database private to the server's account
    /// even when the directory already existed (a container volume, say) with looser modes.
    /// </summary>
    public void EnsureCreated()
    {
        foreach (var directory in new[] { Root, Files, Staging, Tls })
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, OwnerOnly);
            }
        }

        File.SetUnixFileMode(Root, OwnerOnly);
        if (!File.Exists(Database))
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

    /// <summary>Marks the directory as in use by a server until the returned handle is closed (an advisory shared lock).</summary>
    public FileStream HoldInUse() => OpenLock(FileShare.ReadWrite)
        ?? throw new IOException($"{Root} is being restored; start the server when the restore has finished.");

    /// <summary>The directory to itself (no server on it), or null while a server holds it.</summary>
    public FileStream? TryLockExclusive() => OpenLock(FileShare.None);

    // .NET turns FileShare into flock(2): None takes it exclusively, anything else shared.
    private FileStream? OpenLock(FileShare share)
    {
        try
        {
            return new FileStream(LockFile, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = share,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(LockFile))
        {
            return null;
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
