using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Cli.Transfers;

/// <summary>
/// The mirror of <see cref="PutPlanner"/>: an existing local directory, a LOCAL ending in '/'
/// or several REMOTEs put files into LOCAL/&lt;name&gt;; a remote directory (with -r) always
/// lands at LOCAL/&lt;dirname&gt;. Names from the server are checked before they touch the disk.
/// </summary>
internal static class GetPlanner
{
    public static async Task<TransferPlan> PlanAsync(
        RemoteSession session, IReadOnlyList<string> sources, string rawLocal, bool recursive, CancellationToken cancellationToken)
    {
        var local = Path.GetFullPath(rawLocal);
        var intoDirectory = sources.Count > 1 || Directory.Exists(local) || rawLocal.EndsWith('/');
        if (intoDirectory && File.Exists(local))
        {
            throw CliException.Usage($"'{rawLocal}' is a file; with several REMOTEs, LOCAL must be a directory.");
        }

        var found = new List<(string Path, RemoteEntry Entry)>();
        foreach (var source in sources)
        {
            var path = RemotePaths.Canonical(source);
            var entry = await session.Client.StatAsync(path, cancellationToken).ConfigureAwait(false);
            if (entry.Type == EntryType.Dir && !recursive)
            {
                throw new CliException(ExitCodes.Failure, "is_a_directory", $"Remote '{path}' is a directory; use -r to copy it with everything in it.");
            }

            found.Add((path, entry));
        }

        var plan = new TransferPlan();
        if (intoDirectory || found.Any(f => f.Entry.Type == EntryType.Dir))
        {
            plan.Directories.Add(local);
        }

        foreach (var (path, entry) in found)
        {
            if (entry.Type == EntryType.Dir)
            {
                var root = path == "/" ? local : Path.Combine(local, RemotePaths.SafeLocalName(RemotePaths.NameOf(path)));
                await WalkAsync(session, path, root, plan, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var target = intoDirectory ? Path.Combine(local, RemotePaths.SafeLocalName(RemotePaths.NameOf(path))) : local;
                plan.Files.Add(new TransferItem(target, path, entry.Size));
            }
        }

        return plan;
    }

    private static async Task WalkAsync(RemoteSession session, string remoteDirectory, string localDirectory, TransferPlan plan, CancellationToken cancellationToken)
    {
        plan.Directories.Add(localDirectory);
        var entries = await session.Client.ListAsync(remoteDirectory, cancellationToken).ConfigureAwait(false);
        foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var name = RemotePaths.SafeLocalName(entry.Name);
            var remote = RemotePaths.Join(remoteDirectory, name);
            var local = Path.Combine(localDirectory, name);
            if (entry.Type == EntryType.Dir)
            {
                await WalkAsync(session, remote, local, plan, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                plan.Files.Add(new TransferItem(local, remote, entry.Size));
            }
        }
    }
}
