namespace SecureXfer.Server.Storage;

/// <summary>
/// One marker per running server in <c>DATA/running/</c>, each held with an exclusive advisory
/// lock for the life of its process. The lock dies with the process however it ends, so a marker
/// that can be locked belongs to a server that stopped without a clean stop (a crash, SIGKILL):
/// its writes may be half done and the trees need reconciling. Markers of servers that are still
/// running (other instances on shared storage) stay locked and are left alone.
/// </summary>
public sealed class RunningMarkers(DataDirectory data) : IDisposable
{
    private FileStream? _own;
    private string? _ownPath;

    private string Folder => Path.Combine(data.Root, "running");

    /// <summary>
    /// Finds the markers of servers that stopped uncleanly and removes them. True when there was
    /// at least one (or the single-instance marker of older versions).
    /// </summary>
    public bool ClaimAbandoned()
    {
        var abandoned = false;
        if (File.Exists(data.RunningMarker))
        {
            File.Delete(data.RunningMarker);
            abandoned = true;
        }

        if (!Directory.Exists(Folder))
        {
            return abandoned;
        }

        // A ".new" marker that can be locked is one whose server died before renaming it in.
        foreach (var unfinished in Directory.EnumerateFiles(Folder, "*.new"))
        {
            try
            {
                using var claim = new FileStream(unfinished, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                File.Delete(unfinished);
            }
            catch (IOException)
            {
            }
        }

        foreach (var marker in Directory.EnumerateFiles(Folder, "*.marker"))
        {
            try
            {
                // Locked exclusively only if its server is gone; deleted while held, so no one else claims it too.
                using var claim = new FileStream(marker, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                File.Delete(marker);
                abandoned = true;
            }
            catch (IOException)
            {
                // Its server is running (or it went meanwhile).
            }
        }

        return abandoned;
    }

    /// <summary>Whether the server <paramref name="instance"/> is running: its marker is there and locked by its process.</summary>
    public bool IsRunning(string instance)
    {
        var marker = MarkerPath(instance);
        if (!File.Exists(marker))
        {
            return false;
        }

        try
        {
            // A shared lock is refused while the owner holds its exclusive one (even to this process, through another open).
            using var probe = new FileStream(marker, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Creates and holds this server's marker. It appears already locked (made aside, locked, renamed in).</summary>
    public void Hold(string instance)
    {
        Directory.CreateDirectory(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = Path.ChangeExtension(MarkerPath(instance), ".new");
        _own = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        _own.Write(System.Text.Encoding.UTF8.GetBytes(instance + "\n"));
        _own.Flush(flushToDisk: true);
        _ownPath = MarkerPath(instance);
        File.Move(temporary, _ownPath);
        Durability.FlushDirectory(Folder);
    }

    private string MarkerPath(string instance) =>
        Path.Combine(Folder, string.Concat(instance.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' ? c : '-')) + ".marker");

    /// <summary>A clean stop: this server's marker goes.</summary>
    public void Release()
    {
        if (_ownPath is not null)
        {
            File.Delete(_ownPath);
            _ownPath = null;
        }

        Dispose();
    }

    public void Dispose()
    {
        _own?.Dispose();
        _own = null;
    }
}
