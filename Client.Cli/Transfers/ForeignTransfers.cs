using SecureXfer.Cli.Commands;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Cli.Transfers;

/// <summary>
/// put, get and ls against an FTP, FTPS or SFTP server named by URL, with the same target rules
/// as against the SecureXfer server: several sources, a target ending in '/' or an existing
/// directory take files into it; a directory (with -r) lands as target/dirname.
/// </summary>
internal static class ForeignTransfers
{
    public static EndpointAddress Address(string text)
    {
        try
        {
            return EndpointAddress.Parse(text);
        }
        catch (FormatException ex)
        {
            throw CliException.Usage(ex.Message);
        }
    }

    public static async Task ListAsync(CommandContext context, IFileEndpoint endpoint, EndpointAddress address)
    {
        var entry = await endpoint.StatAsync(address.Path, context.CancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.NotFound, "not_found", $"{endpoint.Describe(address.Path)} does not exist.");
        var entries = entry.IsDirectory
            ? (await endpoint.ListAsync(address.Path, context.CancellationToken).ConfigureAwait(false)).Where(e => e.Kind != EntryKind.Other && EndpointPaths.IsUsableName(e.Name)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList()
            : [entry];
        var shown = entries.Select(e => new RemoteEntry(e.Name, e.IsDirectory ? EntryType.Dir : EntryType.File, e.Size, e.Modified, e.Sha256)).ToList();
        context.Reporter.Result(
            new ListJson([.. shown.Select(HumanFormat.ToJson)]),
            CliJson.Context.ListJson,
            () => Console.Out.WriteLine(HumanFormat.Table(shown)));
    }

    public static async Task PutAsync(CommandContext context, IFileEndpoint endpoint, IReadOnlyList<string> sources, string rawTarget, EndpointAddress address, bool recursive)
    {
        var cancellationToken = context.CancellationToken;
        var target = address.Path;
        var existing = await endpoint.StatAsync(target, cancellationToken).ConfigureAwait(false);
        var intoDirectory = sources.Count > 1 || rawTarget.EndsWith('/') || existing is { IsDirectory: true };
        var plan = new TransferPlan();
        foreach (var source in sources)
        {
            var full = Path.GetFullPath(source);
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(full));
            if (Directory.Exists(full))
            {
                if (!recursive)
                {
                    throw new CliException(ExitCodes.Failure, "is_a_directory", $"'{source}' is a directory; use -r to copy it with everything in it.");
                }

                Walk(full, EndpointPaths.Join(target, name), plan, context.Reporter);
            }
            else if (File.Exists(full))
            {
                plan.Files.Add(new TransferItem(full, intoDirectory ? EndpointPaths.Join(target, name) : target, new FileInfo(full).Length));
            }
            else
            {
                throw new CliException(ExitCodes.NotFound, "not_found", $"Local file '{source}' does not exist.");
            }
        }

        if (intoDirectory && existing is null)
        {
            await endpoint.MkdirAsync(target, cancellationToken).ConfigureAwait(false);
        }

        foreach (var directory in plan.Directories)
        {
            await endpoint.MkdirAsync(directory, cancellationToken).ConfigureAwait(false);
        }

        await TransferBatch.RunAsync(context, plan.Files, upload: true, async (item, progress) =>
        {
            var done = await endpoint.UploadAsync(item.Local, item.Remote, replace: true, progress, cancellationToken).ConfigureAwait(false);
            return new TransferResult(item.Local, endpoint.Describe(item.Remote), done.Bytes, done.ResumedFrom, done.Bytes - done.ResumedFrom, done.Sha256 ?? string.Empty);
        }).ConfigureAwait(false);
    }

    private static void Walk(string localDirectory, string remoteDirectory, TransferPlan plan, Reporter reporter)
    {
        plan.Directories.Add(remoteDirectory);
        foreach (var child in new DirectoryInfo(localDirectory).EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            var remote = EndpointPaths.Join(remoteDirectory, child.Name);
            if (child.LinkTarget is not null && child is DirectoryInfo)
            {
                reporter.Warn($"skipping '{child.FullName}': a link to a directory.");
            }
            else if (child is DirectoryInfo directory)
            {
                Walk(directory.FullName, remote, plan, reporter);
            }
            else if (child is FileInfo file && Shared.IO.FileKind.IsRegularFile(file.FullName))
            {
                plan.Files.Add(new TransferItem(file.FullName, remote, new FileInfo(file.FullName).Length));
            }
            else
            {
                reporter.Warn($"skipping '{child.FullName}': not a regular file.");
            }
        }
    }

    public static async Task GetAsync(CommandContext context, IFileEndpoint endpoint, IReadOnlyList<EndpointAddress> sources, string rawLocal, bool recursive)
    {
        var cancellationToken = context.CancellationToken;
        var local = Path.GetFullPath(rawLocal);
        var intoDirectory = sources.Count > 1 || Directory.Exists(local) || rawLocal.EndsWith('/');
        var plan = new TransferPlan();
        foreach (var source in sources)
        {
            var entry = await endpoint.StatAsync(source.Path, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.NotFound, "not_found", $"{endpoint.Describe(source.Path)} does not exist.");
            var name = RemotePaths.SafeLocalName(EndpointPaths.Name(source.Path.TrimEnd('/')) is { Length: > 0 } n ? n : "root");
            if (entry.IsDirectory)
            {
                if (!recursive)
                {
                    throw new CliException(ExitCodes.Failure, "is_a_directory", $"{endpoint.Describe(source.Path)} is a directory; use -r to copy it with everything in it.");
                }

                await WalkRemoteAsync(endpoint, source.Path, Path.Combine(local, name), plan, cancellationToken).ConfigureAwait(false);
            }
            else if (entry.IsFile)
            {
                plan.Files.Add(new TransferItem(intoDirectory ? Path.Combine(local, name) : local, source.Path, entry.Size));
            }
        }

        if (intoDirectory)
        {
            Directory.CreateDirectory(local);
        }

        foreach (var directory in plan.Directories)
        {
            Directory.CreateDirectory(directory);
        }

        await TransferBatch.RunAsync(context, plan.Files, upload: false, async (item, progress) =>
        {
            var done = await endpoint.DownloadAsync(item.Remote, item.Local, replace: true, progress, cancellationToken).ConfigureAwait(false);
            return new TransferResult(item.Local, endpoint.Describe(item.Remote), done.Bytes, done.ResumedFrom, done.Bytes - done.ResumedFrom, done.Sha256 ?? string.Empty);
        }).ConfigureAwait(false);
    }

    private static async Task WalkRemoteAsync(IFileEndpoint endpoint, string remoteDirectory, string localDirectory, TransferPlan plan, CancellationToken cancellationToken)
    {
        plan.Directories.Add(localDirectory);
        foreach (var entry in (await endpoint.ListAsync(remoteDirectory, cancellationToken).ConfigureAwait(false)).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (!EndpointPaths.IsUsableName(entry.Name) || entry.Kind == EntryKind.Other)
            {
                continue;
            }

            // A hostile listing cannot climb out of the target directory.
            var name = RemotePaths.SafeLocalName(entry.Name);
            var remote = EndpointPaths.Join(remoteDirectory, entry.Name);
            if (entry.IsDirectory)
            {
                await WalkRemoteAsync(endpoint, remote, Path.Combine(localDirectory, name), plan, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                plan.Files.Add(new TransferItem(Path.Combine(localDirectory, name), remote, entry.Size));
            }
        }
    }
}
