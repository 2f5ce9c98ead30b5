using System.CommandLine;
using SecureXfer.Cli.Output;

namespace SecureXfer.Cli.Commands;

/// <summary><c>sxfer logout</c>: forgets the saved login (token and trust decision).</summary>
internal static class LogoutCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("logout", "Forget the saved login.");
        command.SetBody(globals, context =>
        {
            var existed = context.Store.Delete();
            context.Reporter.Result(
                new LogoutJson(true, existed),
                CliJson.Context.LogoutJson,
                () => Console.Out.WriteLine(existed ? "Logged out." : "Not logged in."));
            return Task.CompletedTask;
        });
        return command;
    }
}
