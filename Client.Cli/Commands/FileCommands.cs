using System.CommandLine;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;
using SecureXfer.Cli.Transfers;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Cli.Commands;

/// <summary>The single-request commands: ls, stat, rm, mv, mkdir.</summary>
internal static class FileCommands
{
    public static Command List(GlobalOptions globals)
    {
        var path = new Argument<string>("REMOTE") { Description = "Directory (or file) to list, on the server or at an ftp://, ftps:// or sftp:// URL; the root by default.", DefaultValueFactory = _ => "/" };
        var remote = new RemoteFlags();
        var command = new Command("ls", "List a remote directory.") { path };
        remote.AddTo(command);
        command.SetBody(globals, async context =>
        {
            if (EndpointAddress.IsAddress(context.ParseResult.GetRequiredValue(path)))
            {
                var address = ForeignTransfers.Address(context.ParseResult.GetRequiredValue(path));
                await using var endpoint = remote.Open(address, context.ParseResult);
                await ForeignTransfers.ListAsync(context, endpoint, address).ConfigureAwait(false);
                return;
            }

            var session = context.OpenSession();
            var target = RemotePaths.Canonical(RemotePaths.FromArgument(context.ParseResult.GetRequiredValue(path), session));
            var entries = await session.Client.ListAsync(target, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(
                new ListJson(entries.Select(HumanFormat.ToJson).ToList()),
                CliJson.Context.ListJson,
                () => Console.Out.WriteLine(HumanFormat.Table(entries)));
        });
        return command;
    }

    public static Command Stat(GlobalOptions globals)
    {
        var path = new Argument<string>("REMOTE") { Description = "Remote file or directory." };
        var command = new Command("stat", "Show a remote file's size, time and SHA-256.") { path };
        command.SetBody(globals, async context =>
        {
            var session = context.OpenSession();
            var target = RemotePaths.Canonical(RemotePaths.FromArgument(context.ParseResult.GetRequiredValue(path), session));
            var entry = await session.Client.StatAsync(target, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(
                HumanFormat.ToJson(entry),
                CliJson.Context.EntryJson,
                () => Console.Out.WriteLine(HumanFormat.Details(target, entry)));
        });
        return command;
    }

    public static Command Remove(GlobalOptions globals)
    {
        var path = new Argument<string>("REMOTE") { Description = "Remote file or directory." };
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Remove a directory and everything in it." };
        var command = new Command("rm", "Remove a remote file, or a directory with -r.") { path, recursive };
        command.SetBody(globals, async context =>
        {
            var session = context.OpenSession();
            var target = RemotePaths.Canonical(RemotePaths.FromArgument(context.ParseResult.GetRequiredValue(path), session));
            await session.Client.RemoveAsync(target, context.ParseResult.GetValue(recursive), context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new PathOkJson(true, target), CliJson.Context.PathOkJson, () => Console.Out.WriteLine($"Removed {target}"));
        });
        return command;
    }

    public static Command Mkdir(GlobalOptions globals)
    {
        var path = new Argument<string>("REMOTE") { Description = "Remote directory; missing parents are created too." };
        var command = new Command("mkdir", "Create a remote directory (and its parents).") { path };
        command.SetBody(globals, async context =>
        {
            var session = context.OpenSession();
            var target = RemotePaths.Canonical(RemotePaths.FromArgument(context.ParseResult.GetRequiredValue(path), session));
            await session.Client.MkdirAsync(target, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new PathOkJson(true, target), CliJson.Context.PathOkJson, () => Console.Out.WriteLine($"Created {target}"));
        });
        return command;
    }

    public static Command Move(GlobalOptions globals)
    {
        var source = new Argument<string>("SRC") { Description = "Remote file or directory to move." };
        var destination = new Argument<string>("DST") { Description = "New path; an existing directory (or a path ending in '/') receives SRC by name." };
        var force = new Option<bool>("--force", "-f") { Description = "Replace DST if it is an existing file." };
        var command = new Command("mv", "Move or rename a remote file or directory.") { source, destination, force };
        command.SetBody(globals, async context =>
        {
            var session = context.OpenSession();
            var from = RemotePaths.Canonical(RemotePaths.FromArgument(context.ParseResult.GetRequiredValue(source), session));
            var rawTo = RemotePaths.FromArgument(context.ParseResult.GetRequiredValue(destination), session);
            var to = RemotePaths.Canonical(rawTo);
            if (RemotePaths.NamesDirectory(rawTo) || await IsDirectoryAsync(session, to, context.CancellationToken).ConfigureAwait(false))
            {
                to = RemotePaths.Join(to, RemotePaths.NameOf(from));
            }

            await session.Client.MoveAsync(from, to, context.ParseResult.GetValue(force), context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new MoveOkJson(true, from, to), CliJson.Context.MoveOkJson, () => Console.Out.WriteLine($"Moved {from} to {to}"));
        });
        return command;
    }

    /// <summary>True for an existing remote directory; false when the path is a file or does not exist.</summary>
    public static async Task<bool> IsDirectoryAsync(RemoteSession session, string path, CancellationToken cancellationToken)
    {
        var entry = await StatOrNullAsync(session, path, cancellationToken).ConfigureAwait(false);
        return entry?.Type == EntryType.Dir;
    }

    public static async Task<RemoteEntry?> StatOrNullAsync(RemoteSession session, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await session.Client.StatAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (SxpException ex) when (ex.Code == ErrorCode.NotFound)
        {
            return null;
        }
    }
}
