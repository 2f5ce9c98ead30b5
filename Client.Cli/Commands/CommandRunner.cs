using System.CommandLine;

namespace SecureXfer.Cli.Commands;

/// <summary>Wraps a command body: builds its context, reports any failure in the chosen output mode, and closes the session.</summary>
internal static class CommandRunner
{
    public static void SetBody(this Command command, GlobalOptions globals, Func<CommandContext, Task> body) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals, cancellationToken);
            try
            {
                await body(context).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            catch (Exception ex)
            {
                return context.Reporter.Fail(Failures.Explain(ex, context.Session, cancellationToken));
            }
            finally
            {
                if (context.Session is { } session)
                {
                    await DisposeQuietlyAsync(session).ConfigureAwait(false);
                }
            }
        });

    private static async Task DisposeQuietlyAsync(IAsyncDisposable resource)
    {
        try
        {
            await resource.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The connection is already gone; the command's own outcome is what matters.
        }
    }
}
