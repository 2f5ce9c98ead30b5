using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Storage;

/// <summary>
/// The one place where user paths meet the disk. A <see cref="RemotePath"/> (already canonical)
/// is resolved beneath the user's root by the kernel, with no symbolic link followed on the way
/// (<see cref="ConfinedFs"/>), into an open handle on the directory that holds the entry. Every
/// later use goes through that handle, so a link swapped in between the check and the use
/// changes nothing: the walk was done once, atomically, and is not repeated.
/// </summary>
public sealed class UserRoots(DataDirectory data)
{
    public string RootOf(long userId)
    {
        var root = Path.Combine(data.Files, userId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!Directory.Exists(root))
        {
            Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return root;
    }

    /// <summary>Deletes a user's whole root, through handles (a link swapped in anywhere is removed, never followed).</summary>
    public void DeleteRoot(long userId)
    {
        using var files = ConfinedFs.OpenAnchor(data.Files);
        ConfinedFs.DeleteTree(files, userId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Where <paramref name="path"/> would be under the root, for purposes that decide nothing
    /// (flushing directories, messages). Access goes through <see cref="Resolve"/>.
    /// </summary>
    public string RealPathOf(long userId, RemotePath path) => Path.Join(RootOf(userId), path.Value);

    /// <summary>
    /// Resolves <paramref name="path"/> for one operation; dispose it when done. A link anywhere on
    /// the way, the entry itself included, is refused; a missing directory on the way leaves a
    /// result whose <see cref="ConfinedPath.Location"/> names nothing.
    /// </summary>
    public ConfinedPath Resolve(long userId, RemotePath path)
    {
        var anchor = ConfinedFs.OpenAnchor(RootOf(userId));
        if (path.IsRoot)
        {
            return new ConfinedPath(path, anchor, null);
        }

        ConfinedFs.Outcome outcome;
        SafeFileHandle? parent;
        try
        {
            outcome = ConfinedFs.OpenDirectory(anchor, path.Parent.IsRoot ? "." : path.Parent.Value[1..], out parent);
        }
        catch
        {
            anchor.Dispose();
            throw;
        }

        var resolved = new ConfinedPath(path, anchor, parent);
        if (outcome == ConfinedFs.Outcome.Link || (outcome == ConfinedFs.Outcome.Opened && new FileInfo(resolved.Location).LinkTarget is not null))
        {
            resolved.Dispose();
            throw PassesThroughLink(path);
        }

        return resolved;
    }

    /// <summary>Creates the directories leading to <paramref name="path"/> (not the last segment), each confined like the rest, and resolves it.</summary>
    public ConfinedPath EnsureParents(long userId, RemotePath path)
    {
        var current = ConfinedFs.OpenAnchor(RootOf(userId));
        try
        {
            foreach (var segment in path.Parent.Segments)
            {
                var outcome = ConfinedFs.OpenDirectory(current, segment, out var next);
                if (outcome == ConfinedFs.Outcome.Missing)
                {
                    var entry = ConfinedFs.PathOf(current) + "/" + segment;
                    var info = new FileInfo(entry);
                    if (info.LinkTarget is not null)
                    {
                        throw PassesThroughLink(path);
                    }

                    if (info.Exists)
                    {
                        throw new SxpException(ErrorCode.Conflict, $"'{path.Parent}' is a file, not a directory.");
                    }

                    Directory.CreateDirectory(entry);
                    outcome = ConfinedFs.OpenDirectory(current, segment, out next);
                }

                if (outcome != ConfinedFs.Outcome.Opened)
                {
                    throw PassesThroughLink(path);
                }

                current.Dispose();
                current = next!;
            }
        }
        finally
        {
            current.Dispose();
        }

        return Resolve(userId, path);
    }

    private static SxpException PassesThroughLink(RemotePath path) =>
        new(ErrorCode.InvalidPath, $"'{path}' passes through a symbolic link, which is not followed.");
}

/// <summary>
/// A user path resolved for one operation: an open handle on the directory that holds the entry
/// (or on the root, for the root itself). <see cref="Location"/> names the entry through that
/// handle (<c>/proc/self/fd/N/name</c>); calls that do not follow a final link (rename, unlink,
/// lstat) can use it as it is, and opens go through <see cref="OpenFile"/> and
/// <see cref="OpenDirectory"/>, which refuse a link.
/// </summary>
public sealed class ConfinedPath : IDisposable
{
    /// <summary>What <see cref="Location"/> is when a directory on the way does not exist: a name that cannot exist.</summary>
    private const string Nowhere = "/proc/self/fd/-1/nowhere";

    private readonly SafeFileHandle _anchor;
    private readonly SafeFileHandle? _parent;
    private readonly List<SafeFileHandle> _opened = [];

    internal ConfinedPath(RemotePath path, SafeFileHandle anchor, SafeFileHandle? parent)
    {
        Path = path;
        _anchor = anchor;
        _parent = parent;
    }

    public RemotePath Path { get; }

    /// <summary>Whether the directory that would hold the entry exists.</summary>
    public bool ParentExists => Path.IsRoot || _parent is not null;

    public string Location => Path.IsRoot ? ConfinedFs.PathOf(_anchor) : _parent is null ? Nowhere : ConfinedFs.PathOf(_parent) + "/" + Path.Name;

    /// <summary>The directory holding the entry (for flushing it after a rename), through its handle.</summary>
    public string ParentLocation => ConfinedFs.PathOf(_parent ?? _anchor);

    /// <summary>Opens the entry as a file, never through a link; null when it does not exist.</summary>
    public SafeFileHandle? OpenFile(bool write)
    {
        if (_parent is null && !Path.IsRoot)
        {
            return null;
        }

        return ConfinedFs.OpenFile(_parent ?? _anchor, Path.IsRoot ? "." : Path.Name, write, out var handle) switch
        {
            ConfinedFs.Outcome.Opened => handle,
            ConfinedFs.Outcome.Missing => null,
            _ => throw new SxpException(ErrorCode.InvalidPath, $"'{Path}' is a symbolic link, which is not followed."),
        };
    }

    /// <summary>
    /// The entry as a directory, opened for its metadata and times (read them and set them
    /// through the handle: the path of a handle would name the handle's own /proc entry); null
    /// when it is no directory.
    /// </summary>
    public SafeFileHandle? OpenDirectoryForTimes()
    {
        if (_parent is null && !Path.IsRoot)
        {
            return null;
        }

        return ConfinedFs.OpenDirectoryForTimes(_parent ?? _anchor, Path.IsRoot ? "." : Path.Name, out var handle) switch
        {
            ConfinedFs.Outcome.Opened => handle,
            ConfinedFs.Outcome.Missing => null,
            _ => throw new SxpException(ErrorCode.InvalidPath, $"'{Path}' is a symbolic link, which is not followed."),
        };
    }

    /// <summary>Deletes the entry, and everything below it when it is a directory, through handles (<see cref="ConfinedFs.DeleteTree"/>).</summary>
    public void DeleteTree()
    {
        if (Path.IsRoot || _parent is null)
        {
            throw new InvalidOperationException("Only an entry below the root can be deleted.");
        }

        ConfinedFs.DeleteTree(_parent, Path.Name);
    }

    /// <summary>A path for the entry as a directory, pinned by a handle (so listing it lists what was checked); null when it is none.</summary>
    public string? OpenDirectory()
    {
        if (Path.IsRoot)
        {
            return ConfinedFs.PathOf(_anchor);
        }

        if (_parent is null)
        {
            return null;
        }

        switch (ConfinedFs.OpenDirectory(_parent, Path.Name, out var handle))
        {
            case ConfinedFs.Outcome.Opened:
                _opened.Add(handle!);
                return ConfinedFs.PathOf(handle!);
            case ConfinedFs.Outcome.Missing:
                return null;
            default:
                throw new SxpException(ErrorCode.InvalidPath, $"'{Path}' is a symbolic link, which is not followed.");
        }
    }

    public void Dispose()
    {
        foreach (var handle in _opened)
        {
            handle.Dispose();
        }

        _parent?.Dispose();
        _anchor.Dispose();
    }
}
