using System.Globalization;
using SecureXfer.Load;
using SecureXfer.Tests.Support;

// SecureXfer.Load [--clients N] [--seconds N] [--users N] [--settle N] [--heap-limit-mib N] [--quick]
// Starts a server on loopback, drives N concurrent clients for the given time, checks every
// stored file, and prints a report. Exits 1 on any error, lost or corrupt file, or growth.
var quick = args.Contains("--quick");
var settings = new LoadSettings(
    Clients: Option("--clients", quick ? 20 : 200),
    Duration: TimeSpan.FromSeconds(Option("--seconds", quick ? 20 : 300)),
    Users: Option("--users", quick ? 4 : 20),
    Settle: TimeSpan.FromSeconds(Option("--settle", quick ? 5 : 30)));
if (settings.Clients is < 1 or > LoadSettings.MaxClients || settings.Duration > LoadSettings.MaxDuration || settings.Users < 1)
{
    Console.Error.WriteLine($"clients must be 1..{LoadSettings.MaxClients}, the run at most {LoadSettings.MaxDuration}, users at least 1");
    return 2;
}

// --heap-limit-mib N runs the server with a hard GC heap limit: memory that a long run only
// seemed to keep (garbage the GC had no reason to collect yet) is collected, while a leak fails.
var heapLimit = Option("--heap-limit-mib", 0);
var environment = heapLimit > 0
    ? new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = ((long)heapLimit << 20).ToString("x", CultureInfo.InvariantCulture) }
    : null;
await using var server = await ServerProcess.StartAsync(environment);
using var scratch = new TempDir("sx-load");
LoadReport report;
try
{
    report = await new LoadRun(server, settings, scratch.Path).RunAsync();
}
catch (Exception ex)
{
    // The server died or stopped answering under load: what it said last is the report.
    Console.Error.WriteLine($"The run failed ({ex.GetType().Name}: {ex.Message}); server exit code {server.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (still running)"}; its last lines:\n{server.Tail(80)}");
    return 1;
}

LoadReportWriter.Write(Console.Out, report);
return report.Passed ? 0 : 1;

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
