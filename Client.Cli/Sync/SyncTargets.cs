using System.CommandLine;
using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Cli.Sync;

/// <summary>What kind of place one side of a sync is.</summary>
internal enum SideKind
{
    /// <summary>A directory on this machine.</summary>
    Local,

    /// <summary>A directory on the logged-in SecureXfer server.</summary>
    Server,

    /// <summary>An FTP, FTPS or SFTP server named by URL.</summary>
    Foreign,
}

/// <summary>
/// The two sides of <c>sxfer sync SRC DST</c>. <c>sxfer://HOST/path</c> is on the SecureXfer
/// server; <c>ftp://</c>, <c>ftps://</c> and <c>sftp://</c> URLs name those servers; a relative
/// path (<c>dir</c>, <c>./dir</c>) or a <c>file://</c> URL is local. A plain absolute path next to a
/// local side is the server's; next to the server's, local; next to an FTP/SFTP URL, local when
/// it exists here and the server's otherwise. Two plain absolute paths: the source is local when
/// it exists on this machine. A repeated sync never decides from a missing directory (that
/// could turn an upload into a download for the life of the process): it asks for the explicit form.
/// </summary>
internal sealed record SyncTargets(string Source, SideKind SourceKind, string Destination, SideKind DestinationKind)
{
    public bool NeedsLogin => SourceKind == SideKind.Server || DestinationKind == SideKind.Server;

    public static SyncTargets Decide(string source, string destination, bool repeated)
    {
        var from = Classify(source);
        var to = Classify(destination);
        var sourceKind = from ?? Settle(source, to, repeated, isSource: true);
        var destinationKind = to ?? Settle(destination, from ?? sourceKind, repeated, isSource: false);
        if (sourceKind == destinationKind && sourceKind != SideKind.Foreign)
        {
            throw CliException.Usage(sourceKind == SideKind.Local
                ? $"Both '{source}' and '{destination}' are local; one side must be elsewhere (/path or sxfer://HOST/path on the server, or an ftp://, ftps:// or sftp:// URL)."
                : $"Both '{source}' and '{destination}' are on the server; one side must be local (a relative path, ./dir, or file:///path) or an FTP/SFTP URL.");
        }

        return new SyncTargets(StripFileScheme(source), sourceKind, StripFileScheme(destination), destinationKind);
    }

    /// <summary>The kind an argument says by itself; null for a plain absolute path.</summary>
    private static SideKind? Classify(string argument)
    {
        if (argument.StartsWith(RemotePaths.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return SideKind.Server;
        }

        if (argument.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            return SideKind.Local;
        }

        if (EndpointAddress.IsAddress(argument))
        {
            return SideKind.Foreign;
        }

        if (argument.Contains("://", StringComparison.Ordinal))
        {
            throw CliException.Usage($"'{argument}': only sxfer://, ftp://, ftps://, sftp:// and file:// addresses are understood.");
        }

        return argument.StartsWith('/') ? null : SideKind.Local;
    }

    private static SideKind Settle(string path, SideKind? other, bool repeated, bool isSource)
    {
        switch (other)
        {
            case SideKind.Local:
                return SideKind.Server;
            case SideKind.Server:
                return SideKind.Local;
        }

        // Next to an FTP/SFTP URL, or next to another plain absolute path.
        if (Path.Exists(path))
        {
            return SideKind.Local;
        }

        if (repeated && (other is SideKind.Foreign || isSource))
        {
            throw CliException.Usage(
                $"'{path}' does not exist on this machine, so it would be taken for a path on the SecureXfer server. " +
                $"For a repeated sync say which it is: sxfer://HOST{path} for the server's, or file://{path} (or create it) for a local directory.");
        }

        return other is null && !isSource ? SideKind.Local : SideKind.Server;
    }

    private static string StripFileScheme(string argument) =>
        argument.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? Uri.UnescapeDataString(argument["file://".Length..]) : argument;

    /// <summary>
    /// The two sides as endpoints: local directories through one endpoint at '/', server paths
    /// through the session's client, FTP/SFTP servers through their adapters (which the caller disposes).
    /// </summary>
    public (SyncSide Source, SyncSide Destination) Open(RemoteSession? session, TransferOptions transfer, HashCache? hashes, RemoteFlags remote, ParseResult parse)
    {
        var local = new LocalEndpoint("/") { Hashes = hashes };

        SyncSide Side(string text, SideKind kind)
        {
            switch (kind)
            {
                case SideKind.Local:
                    var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(text));
                    hashes?.Covering(full);
                    return new SyncSide(local, full.TrimStart('/'));
                case SideKind.Server:
                    var server = session ?? throw new InvalidOperationException("A SecureXfer side needs a login.");
                    var endpoint = new SecureXferEndpoint(server.Client, string.Empty, transfer, $"{server.State.Host}:{server.State.SxpPort}");
                    return new SyncSide(endpoint, RemotePaths.Canonical(RemotePaths.FromArgument(text, server)).TrimStart('/'));
                default:
                    EndpointAddress address;
                    try
                    {
                        address = EndpointAddress.Parse(text);
                    }
                    catch (FormatException ex)
                    {
                        throw CliException.Usage(ex.Message);
                    }

                    return new SyncSide(remote.Open(address, parse), address.Path);
            }
        }

        return (Side(Source, SourceKind), Side(Destination, DestinationKind));
    }

    /// <summary>
    /// The backup directory as a path on the destination's endpoint: relative paths are taken
    /// from the destination directory (as rsync does), absolute ones as they are on that side.
    /// </summary>
    public string? BackupPath(string? backupDir, SyncSide destination, RemoteSession? session)
    {
        if (string.IsNullOrWhiteSpace(backupDir))
        {
            return null;
        }

        var relative = !backupDir.StartsWith('/') && !backupDir.StartsWith(RemotePaths.Scheme, StringComparison.OrdinalIgnoreCase);
        switch (DestinationKind)
        {
            case SideKind.Local:
                return Path.TrimEndingDirectorySeparator(Path.GetFullPath(relative ? "/" + EndpointPaths.Join(destination.Root, backupDir) : backupDir)).TrimStart('/');
            case SideKind.Server:
                var path = relative ? "/" + EndpointPaths.Join(destination.Root, backupDir) : RemotePaths.FromArgument(backupDir, session!);
                return RemotePaths.Canonical(path).TrimStart('/');
            default:
                if (backupDir.Split('/').Any(s => s == ".."))
                {
                    throw CliException.Usage("--backup-dir: '..' is not allowed on an FTP or SFTP server.");
                }

                return relative ? EndpointPaths.Join(destination.Root, backupDir.TrimEnd('/')) : backupDir.TrimEnd('/');
        }
    }
}
