using System.Globalization;
using SecureXfer.Fuzz;
using SecureXfer.Tests.Support;

// SecureXfer.Fuzz [frames|paths|server|all] [--seconds N] [--seed N]
// SecureXfer.Fuzz frames|paths --replay HEX
// Runs each target for N seconds (default 60) and prints a table; exits 1 when any target found something.
var target = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var seconds = Option("--seconds", 60);
var seed = Option("--seed", Environment.TickCount & 0x7FFF_FFFF);
var duration = TimeSpan.FromSeconds(seconds);
var replayAt = Array.IndexOf(args, "--replay");
var replay = replayAt >= 0 && replayAt + 1 < args.Length ? Convert.FromHexString(args[replayAt + 1]) : null;
if (replay is not null)
{
    // Runs one input (hex, as a finding prints it) through the target, with the full stack trace if it fails.
    Action<byte[]> check = target == "paths" ? input => PathTarget.CheckOne(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, char>(input).ToString()) : FrameTarget.Check;
    check(replay);
    Console.WriteLine("no finding");
    return 0;
}

var reports = new List<FuzzReport>();

if (target is "frames" or "all")
{
    reports.Add(FrameTarget.Run(seed, duration));
}

if (target is "paths" or "all")
{
    reports.Add(PathTarget.Run(seed, duration));
}

if (target is "server" or "all")
{
    await using var server = await ServerProcess.StartAsync();
    var token = await server.LoginAsync();
    reports.Add(await Task.Run(() => ServerTarget.Run(server, token, seed, duration)));
}

if (reports.Count == 0)
{
    Console.Error.WriteLine("usage: SecureXfer.Fuzz [frames|paths|server|all] [--seconds N] [--seed N]");
    return 2;
}

Console.WriteLine($"{"target",-8} {"seed",11} {"inputs",10} {"inputs/s",9} {"heap MiB before/after",22} {"peak RSS MiB",12}  result");
foreach (var r in reports)
{
    var rate = r.Inputs / Math.Max(0.001, r.Elapsed.TotalSeconds);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{r.Target,-8} {r.Seed,11} {r.Inputs,10} {rate,9:F0} {r.ManagedBytesBefore / 1048576.0,10:F1} / {r.ManagedBytesAfter / 1048576.0,9:F1} {r.PeakWorkingSet / 1048576.0,12:F0}  {(r.Passed ? "ok" : "FAILED")}"));
    foreach (var finding in r.Findings)
    {
        Console.WriteLine("  " + finding);
    }
}

return reports.All(r => r.Passed) ? 0 : 1;

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
