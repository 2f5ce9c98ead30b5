using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using SecureXfer.Cli;
using SecureXfer.Cli.Commands;
using SecureXfer.Cli.Output;

var globals = new GlobalOptions();
var root = CliRoot.Build(globals);
var parseResult = root.Parse(args);

var errors = parseResult.Errors.Select(e => e.Message).ToList();
if (errors.Count == 0)
{
    // The parser takes an unknown "--flag" for a path when a command accepts paths; a path
    // that really starts with '-' goes after "--".
    var unknown = parseResult.Tokens
        .TakeWhile(t => t.Type != TokenType.DoubleDash)
        .FirstOrDefault(t => t.Type == TokenType.Argument && t.Value.Length > 1 && t.Value[0] == '-' && !double.TryParse(t.Value, CultureInfo.InvariantCulture, out _));
    if (unknown is not null)
    {
        errors.Add($"Unrecognized option '{unknown.Value}' (put '--' before a path that starts with '-').");
    }
}

if (errors.Count > 0 && parseResult.Action is not HelpAction)
{
    // Parse errors are usage errors (exit 2), reported in the output mode that was asked for.
    var json = args.TakeWhile(a => a != "--").Contains("--json", StringComparer.Ordinal);
    var message = string.Join(" ", errors);
    var command = parseResult.CommandResult.Command;
    var help = command == root ? "sxfer --help" : $"sxfer {command.Name} --help";
    var reporter = new Reporter(json, quiet: false);
    if (!json)
    {
        message += $" (see '{help}')";
    }

    return reporter.Fail(CliException.Usage(message));
}

return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(5) }).ConfigureAwait(false);
