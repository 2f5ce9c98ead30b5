using System.CommandLine;
using SecureXfer.Cli.Config;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;

namespace SecureXfer.Cli.Commands;

/// <summary>What one command run needs from the global options, created when the command starts.</summary>
internal sealed class CommandContext(ParseResult parseResult, GlobalOptions globals, CancellationToken cancellationToken)
{
    private LoginStore? _store;

    public ParseResult ParseResult { get; } = parseResult;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public Reporter Reporter { get; } = new(parseResult.GetValue(globals.Json), parseResult.GetValue(globals.Quiet));

    /// <summary>A live progress bar: only on a terminal, and not with --json, --quiet or --no-progress.</summary>
    public bool ShowProgress { get; } =
        !parseResult.GetValue(globals.Json) && !parseResult.GetValue(globals.Quiet)
        && !parseResult.GetValue(globals.NoProgress) && !Console.IsErrorRedirected;

    public LoginStore Store => _store ??= LoginStore.Locate(ParseResult.GetValue(globals.Config));

    /// <summary>The session opened by this command, consulted when explaining a failure.</summary>
    public RemoteSession? Session { get; private set; }

    public RemoteSession OpenSession() => Session ??= RemoteSession.Open(Store);
}
