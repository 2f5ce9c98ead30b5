using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Cli.Remote;

/// <summary>Remote path handling on the client side: canonical form, joining, and names safe to use locally.</summary>
internal static class RemotePaths
{
    /// <summary>The canonical form of a path typed by the user ("docs/a" is "/docs/a").</summary>
    public static string Canonical(string input)
    {
        if (!RemotePath.TryParse(input, out var path, out var error))
        {
            throw new CliException(ExitCodes.Failure, "invalid_path", $"Invalid remote path '{input}': {error}");
        }

        return path.Value;
    }

    public const string Scheme = "sxfer://";

    /// <summary>
    /// The path part of a remote argument. <c>sxfer://HOST[:PORT]/path</c> names a path on the
    /// logged-in server: HOST (and PORT, its SXP or HTTPS port) must be that server's.
    /// </summary>
    public static string FromArgument(string input, RemoteSession session)
    {
        if (!input.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return input;
        }

        if (!Uri.TryCreate(input, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new CliException(ExitCodes.Usage, "usage", $"'{input}' is not a valid sxfer://HOST/path address.");
        }

        var state = session.State;
        var httpsPort = Uri.TryCreate(state.Server, UriKind.Absolute, out var server) ? server.Port : -1;
        var hostMatches = string.Equals(uri.Host.Trim('[', ']'), state.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase);
        var portMatches = uri.IsDefaultPort || uri.Port == state.SxpPort || uri.Port == httpsPort;
        if (!hostMatches || !portMatches)
        {
            throw CliException.NotLoggedIn($"Logged in to {state.Host}, not {uri.Authority}; run 'sxfer login --server https://{uri.Host}:PORT --user NAME' first.");
        }

        // The path as typed, without percent-decoding surprises beyond what a URL implies.
        var path = Uri.UnescapeDataString(input[(input.IndexOf('/', Scheme.Length) is var slash and >= 0 ? slash : input.Length)..]);
        return path.Length == 0 ? "/" : path;
    }

    /// <summary>A trailing '/' means "this is a directory", as with scp and rsync.</summary>
    public static bool NamesDirectory(string input) => input.EndsWith('/');

    public static string Join(string directory, string name)
    {
        try
        {
            return RemotePath.Parse(directory).Append(name).Value;
        }
        catch (SxpException ex)
        {
            throw new CliException(ExitCodes.Failure, "invalid_path", $"'{name}' cannot be used as a remote name: {ex.Message}");
        }
    }

    public static string NameOf(string canonical) => RemotePath.Parse(canonical).Name;

    public static string Parent(string canonical) => RemotePath.Parse(canonical).Parent.Value;

    /// <summary>
    /// A name from the server, checked before it becomes part of a local path, so a hostile
    /// listing cannot climb out of the target directory.
    /// </summary>
    public static string SafeLocalName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new CliException(ExitCodes.Failure, "invalid_path", $"The server sent an unusable file name '{name}'.");
        }

        return name;
    }
}
