using System.CommandLine;

namespace SecureXfer.Cli.Commands;

/// <summary>Options every command accepts, before or after the command name.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "Directory holding the login state (default: $SXFER_CONFIG, else ~/.config/sxfer).",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print exactly one JSON object on stdout.",
        Recursive = true,
    };

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "Print nothing on success.",
        Recursive = true,
    };

    public Option<bool> NoProgress { get; } = new("--no-progress")
    {
        Description = "Do not show a progress bar.",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Config);
        root.Options.Add(Json);
        root.Options.Add(Quiet);
        root.Options.Add(NoProgress);
    }
}
