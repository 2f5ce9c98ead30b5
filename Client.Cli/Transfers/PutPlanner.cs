using SecureXfer.Cli.Commands;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Cli.Transfers;

/// <summary>
/// Where each local file goes. Several sources, a REMOTE ending in '/', or an existing remote
/// directory put files into REMOTE/&lt;name&gt;; a single file otherwise becomes exactly REMOTE.
/// A directory (with -r) always lands at REMOTE/&lt;dirname&gt;, so rerunning an interrupted
/// put -r targets the same paths whether or not the first run created REMOTE.
/// </summary>
internal static class PutPlanner
{
    public static async Task<TransferPlan> PlanAsync(
        RemoteSession session, IReadOnlyList<string> sources, string rawDestination, bool recursive, Reporter reporter, CancellationToken cancellationToken)
    {
        var destination = RemotePaths.Canonical(rawDestination);
        var forcedDirectory = sources.Count > 1 || RemotePaths.NamesDirectory(rawDestination);

        // Check every source before anything is sent.
        var locals = new List<(string Path, bool IsDirectory)>();
        foreach (var source in sources)
        {
            var full = Path.GetFullPath(source);
            if (Directory.Exists(full))
            {
                if (!recursive)
                {
                    throw new CliException(ExitCodes.Failure, "is_a_directory", $"'{source}' is a directory; use -r to copy it with everything in it.");
                }

                locals.Add((full, true));
            }
            else if (File.Exists(full))
            {
                locals.Add((full, false));
            }
            else
            {
                throw new CliException(ExitCodes.NotFound, "not_found", $"Local file '{source}' does not exist.");
            }
        }

        var existing = await FileCommands.StatOrNullAsync(session, destination, cancellationToken).ConfigureAwait(false);
        var needsDirectory = forcedDirectory || locals.Any(l => l.IsDirectory);
        if (existing is { Type: EntryType.File } && needsDirectory)
        {
            throw new CliException(ExitCodes.Integrity, "conflict", $"Remote '{destination}' is a file, not a directory.");
        }

        var intoDirectory = forcedDirectory || existing is { Type: EntryType.Dir };
        var plan = new TransferPlan();
        foreach (var (path, isDirectory) in locals)
        {
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
            if (isDirectory)
            {
                var root = name.Length == 0 ? destination : RemotePaths.Join(destination, name);
                Walk(path, root, plan, reporter);
            }
            else
            {
                var remote = intoDirectory ? RemotePaths.Join(destination, name) : destination;
                plan.Files.Add(new TransferItem(path, remote, new FileInfo(path).Length));
            }
        }

        return plan;
    }

    private static void Walk(string localDirectory, string remoteDirectory, TransferPlan plan, Reporter reporter)
    {
        plan.Directories.Add(remoteDirectory);
        var children = new DirectoryInfo(localDirectory).EnumerateFileSystemInfos()
            .OrderBy(c => c.Name, StringComparer.Ordinal);
        foreach (var child in children)
        {
            var remote = RemotePaths.Join(remoteDirectory, child.Name);
            switch (child)
            {
                case DirectoryInfo directory when directory.LinkTarget is not null:
                    reporter.Warn($"skipping '{directory.FullName}': a link to a directory.");
                    break;
                case DirectoryInfo directory:
                    Walk(directory.FullName, remote, plan, reporter);
                    break;
                case FileInfo file when file.LinkTarget is not null && file.ResolveLinkTarget(returnFinalTarget: true) is not FileInfo { Exists: true }:
                    reporter.Warn($"skipping '{file.FullName}': a link that does not lead to a file.");
                    break;
                case FileInfo file:
                    var length = file.LinkTarget is null ? file.Length : new FileInfo(file.ResolveLinkTarget(true)!.FullName).Length;
                    plan.Files.Add(new TransferItem(file.FullName, remote, length));
                    break;
            }
        }
    }
}
