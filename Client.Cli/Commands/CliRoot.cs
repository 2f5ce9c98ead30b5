using System.CommandLine;

namespace SecureXfer.Cli.Commands;

/// <summary>The <c>sxfer</c> command tree.</summary>
internal static class CliRoot
{
    public static RootCommand Build(GlobalOptions globals)
    {
        var root = new RootCommand("sxfer: secure, resumable file transfer with a SecureXfer server.");
        globals.AddTo(root);
        root.Subcommands.Add(LoginCommand.Create(globals));
        root.Subcommands.Add(PutCommand.Create(globals));
        root.Subcommands.Add(GetCommand.Create(globals));
        root.Subcommands.Add(SyncCommand.Create(globals));
        root.Subcommands.Add(FileCommands.List(globals));
        root.Subcommands.Add(FileCommands.Stat(globals));
        root.Subcommands.Add(FileCommands.Remove(globals));
        root.Subcommands.Add(FileCommands.Move(globals));
        root.Subcommands.Add(FileCommands.Mkdir(globals));
        root.Subcommands.Add(LogoutCommand.Create(globals));
        root.Subcommands.Add(UserCommands.Create(globals));
        root.Subcommands.Add(KeyCommands.Create(globals));
        root.Subcommands.Add(AuditCommand.Create(globals));
        root.Subcommands.Add(RemoteCommands.Create(globals));
        root.Subcommands.Add(JobCommands.Create(globals));
        return root;
    }
}
