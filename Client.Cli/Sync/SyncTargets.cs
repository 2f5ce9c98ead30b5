using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Cli.Sync;

/// <summary>
/// Which side of <c>sxfer sync SRC DST</c> is on the server. <c>sxfer://HOST/path</c> is remote;
/// a relative path (<c>dir</c>, <c>./dir</c>, <c>../dir</c>) or a <c>file://</c> URL is local; one
/// side settled makes the other the opposite kind. Two absolute paths: the source is local when
/// it exists on this machine, remote otherwise; except in a repeated sync, where a missing local
/// source must not turn an upload into a download for the life of the process: there a source
/// that does not exist here needs the explicit <c>sxfer://</c> form.
/// </summary>
internal sealed record SyncTargets(string Source, bool SourceRemote, string Destination)
{
    public bool DestinationRemote => !SourceRemote;

    public static SyncTargets Decide(string source, string destination, bool repeated)
    {
        var from = Kind(source);
        var to = Kind(destination);
        if (from == Side.Other || to == Side.Other)
        {
            throw new CliException(ExitCodes.Usage, "usage", "ftp://, ftps:// and sftp:// endpoints are not supported by this version of sxfer.");
        }

        if (from == to && from != Side.Unknown)
        {
            throw CliException.Usage(from == Side.Local
                ? $"Both '{source}' and '{destination}' are local; one side must be on the server (/path or sxfer://HOST/path)."
                : $"Both '{source}' and '{destination}' are on the server; one side must be local (a relative path, ./dir, or file:///path).");
        }

        if (from == Side.Unknown && to == Side.Unknown && repeated && !Path.Exists(source))
        {
            throw CliException.Usage(
                $"'{source}' does not exist on this machine, so it would be taken for a server path and the sync would run downwards. " +
                $"For a repeated sync say which side is which: sxfer://HOST{source} for the server's, or create the local directory first.");
        }

        var sourceRemote = (from, to) switch
        {
            (Side.Remote, _) => true,
            (Side.Local, _) => false,
            (_, Side.Remote) => false,
            (_, Side.Local) => true,
            _ => !Path.Exists(source),
        };
        return new SyncTargets(StripFileScheme(source), sourceRemote, StripFileScheme(destination));
    }

    private enum Side
    {
        Unknown,
        Local,
        Remote,
        Other,
    }

    private static Side Kind(string argument)
    {
        if (argument.StartsWith(RemotePaths.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return Side.Remote;
        }

        if (argument.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            return Side.Local;
        }

        if (argument.Contains("://", StringComparison.Ordinal))
        {
            return Side.Other;
        }

        return argument.StartsWith('/') ? Side.Unknown : Side.Local;
    }

    private static string StripFileScheme(string argument) =>
        argument.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? Uri.UnescapeDataString(argument["file://".Length..]) : argument;

    /// <summary>The two sides as endpoints: local directories through one endpoint at '/', server paths through the session's client.</summary>
    public (SyncSide Source, SyncSide Destination) Open(RemoteSession session, TransferOptions transfer, HashCache? hashes)
    {
        var local = new LocalEndpoint("/") { Hashes = hashes };
        var remote = new SecureXferEndpoint(session.Client, string.Empty, transfer, $"{session.State.Host}:{session.State.SxpPort}");

        SyncSide Local(string path)
        {
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
            hashes?.Covering(full);
            return new SyncSide(local, full.TrimStart('/'));
        }

        SyncSide Remote(string path) =>
            new(remote, RemotePaths.Canonical(RemotePaths.FromArgument(path, session)).TrimStart('/'));

        return SourceRemote ? (Remote(Source), Local(Destination)) : (Local(Source), Remote(Destination));
    }

    /// <summary>
    /// The backup directory as a path on the destination's endpoint: relative paths are taken
    /// from the destination directory (as rsync does), absolute ones as they are on that side.
    /// </summary>
    public string? BackupPath(string? backupDir, SyncSide destination, RemoteSession session)
    {
        if (string.IsNullOrWhiteSpace(backupDir))
        {
            return null;
        }

        if (!backupDir.StartsWith('/') && !backupDir.StartsWith(RemotePaths.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            var joined = destination.Root.Length == 0 ? backupDir : destination.Root + "/" + backupDir;
            return DestinationRemote
                ? RemotePaths.Canonical("/" + joined).TrimStart('/')
                : Path.GetFullPath("/" + joined).TrimStart('/').TrimEnd('/');
        }

        return DestinationRemote
            ? RemotePaths.Canonical(RemotePaths.FromArgument(backupDir, session)).TrimStart('/')
            : Path.GetFullPath(backupDir).TrimStart('/').TrimEnd('/');
    }
}

