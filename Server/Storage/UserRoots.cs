using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Storage;

/// <summary>
/// Maps a user's <see cref="RemotePath"/> to a location on disk inside that user's root, and
/// refuses any path whose existing components include a symbolic link, so nothing a user
/// touches can lead outside the root. This is the one place where user paths meet the disk.
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

    /// <summary>The disk location of <paramref name="path"/>, after checking that no existing component on the way is a link.</summary>
    public string Resolve(long userId, RemotePath path)
    {
        var root = RootOf(userId);
        var current = root;
        foreach (var segment in path.Segments)
        {
            current = Path.Join(current, segment);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                throw new SxpException(ErrorCode.InvalidPath, $"'{path}' passes through a symbolic link, which is not followed.");
            }

            if (!info.Exists && !Directory.Exists(current))
            {
                // Nothing below a missing component can exist either.
                return Path.Join(root, path.Value);
            }
        }

        return current;
    }

    /// <summary>Creates the directories leading to <paramref name="path"/> (not the last segment), checking each as it goes.</summary>
    public void EnsureParents(long userId, RemotePath path)
    {
        var current = RootOf(userId);
        foreach (var segment in path.Parent.Segments)
        {
            current = Path.Join(current, segment);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                throw new SxpException(ErrorCode.InvalidPath, $"'{path}' passes through a symbolic link, which is not followed.");
            }

            if (info.Exists)
            {
                throw new SxpException(ErrorCode.Conflict, $"'{path.Parent}' is a file, not a directory.");
            }

            if (!Directory.Exists(current))
            {
                Directory.CreateDirectory(current);
            }
        }
    }
}
