using System.CommandLine;
using SecureXfer.Cli.Remote;
using SecureXfer.Cli.Transfers;
using SecureXfer.Shared.Endpoints;

namespace SecureXfer.Cli.Commands;

/// <summary>
/// <c>sxfer get REMOTE... LOCAL</c>: downloads files (and trees with -r). A rerun after an
/// interruption resumes from the partial file kept beside the target.
/// </summary>
internal static class GetCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var flags = new TransferFlags();
        var paths = new Argument<string[]>("REMOTE... LOCAL")
        {
            Description = "Remote files or directories, then the local target.",
            Arity = ArgumentArity.OneOrMore,
        };
        paths.Validators.Add(result =>
        {
            if (result.Tokens.Count < 2)
            {
                result.AddError("Expected at least one REMOTE and a LOCAL.");
            }
        });
        var remote = new RemoteFlags();
        var command = new Command("get", "Download files from the server (or from ftp://, ftps:// or sftp:// URLs).") { paths, flags.Recursive, flags.Parallel, flags.LimitRate };
        remote.AddTo(command);
        command.SetBody(globals, async context =>
        {
            var all = context.ParseResult.GetRequiredValue(paths);
            if (all[..^1].Any(EndpointAddress.IsAddress))
            {
                var addresses = all[..^1].Select(ForeignTransfers.Address).ToList();
                if (addresses.Any(a => a with { Path = string.Empty } != addresses[0] with { Path = string.Empty }))
                {
                    throw CliException.Usage("All REMOTE URLs of one get must name the same server and user.");
                }

                await using var endpoint = remote.Open(addresses[0], context.ParseResult);
                await ForeignTransfers.GetAsync(context, endpoint, addresses, all[^1], context.ParseResult.GetValue(flags.Recursive)).ConfigureAwait(false);
                return;
            }

            var options = flags.ToOptions(context.ParseResult);
            var session = context.OpenSession();
            var cancellationToken = context.CancellationToken;

            var plan = await GetPlanner.PlanAsync(session, [.. all[..^1].Select(a => RemotePaths.FromArgument(a, session))], all[^1], context.ParseResult.GetValue(flags.Recursive), cancellationToken).ConfigureAwait(false);
            foreach (var directory in plan.Directories)
            {
                Directory.CreateDirectory(directory);
            }

            await TransferBatch.RunAsync(context, plan.Files, upload: false,
                (item, progress) => session.Client.DownloadAsync(item.Remote, item.Local, options, progress, cancellationToken)).ConfigureAwait(false);
        });
        return command;
    }
}
