using System.CommandLine;
using SecureXfer.Cli.Remote;
using SecureXfer.Cli.Transfers;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Cli.Commands;

/// <summary><c>sxfer put LOCAL... REMOTE</c>: uploads files (and trees with -r). A rerun after an interruption resumes.</summary>
internal static class PutCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var flags = new TransferFlags();
        var paths = new Argument<string[]>("LOCAL... REMOTE")
        {
            Description = "Local files or directories, then the remote target.",
            Arity = ArgumentArity.OneOrMore,
        };
        paths.Validators.Add(result =>
        {
            if (result.Tokens.Count < 2)
            {
                result.AddError("Expected at least one LOCAL and a REMOTE.");
            }
        });
        var remote = new RemoteFlags();
        var command = new Command("put", "Upload files to the server (or to an ftp://, ftps:// or sftp:// URL).") { paths, flags.Recursive, flags.Parallel, flags.ChunkSize, flags.LimitRate };
        remote.AddTo(command);
        command.SetBody(globals, async context =>
        {
            var all = context.ParseResult.GetRequiredValue(paths);
            if (EndpointAddress.IsAddress(all[^1]))
            {
                var address = ForeignTransfers.Address(all[^1]);
                await using var endpoint = remote.Open(address, context.ParseResult);
                await ForeignTransfers.PutAsync(context, endpoint, all[..^1], all[^1], address, context.ParseResult.GetValue(flags.Recursive)).ConfigureAwait(false);
                return;
            }

            var options = flags.ToOptions(context.ParseResult);
            var session = context.OpenSession();
            var cancellationToken = context.CancellationToken;

            var plan = await PutPlanner.PlanAsync(session, all[..^1], RemotePaths.FromArgument(all[^1], session), context.ParseResult.GetValue(flags.Recursive), context.Reporter, cancellationToken).ConfigureAwait(false);
            foreach (var directory in Leaves(plan.Directories))
            {
                await session.Client.MkdirAsync(directory, cancellationToken).ConfigureAwait(false);
            }

            // Small files go whole, one request each and many at once; a rate limit paces chunked uploads only.
            await TransferBatch.RunAsync(context, plan.Files, upload: true,
                (item, progress) => session.Client.UploadAsync(item.Local, item.Remote, options, progress, cancellationToken),
                item => item.Size <= SxpLimits.MaxPutSize && options.RateLimit <= 0
                    ? () => session.Client.PutAsync(item.Local, item.Remote, options.Overwrite, cancellationToken)
                    : null).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Directories with no planned subdirectory: creating these creates all the others as parents.</summary>
    private static IEnumerable<string> Leaves(IReadOnlyList<string> directories)
    {
        var parents = directories.Select(d => RemotePaths.Parent(d)).ToHashSet(StringComparer.Ordinal);
        return directories.Where(d => d != "/" && !parents.Contains(d));
    }
}
