using System.Globalization;
using SecureXfer.Tests.Support;

namespace SecureXfer.Benchmarks;

internal sealed record BenchSettings(long SizeMiB, int Files, int Runs, int RssGiB, string Parallel, int WarmUps)
{
    public static BenchSettings Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        var settings = quick ? new BenchSettings(64, 200, 1, 0, "4", 1) : new BenchSettings(1024, 2000, 3, 4, "4", 2);
        for (var i = 0; i < args.Length - 1; i++)
        {
            var value = args[i + 1];
            settings = args[i] switch
            {
                "--size" => settings with { SizeMiB = long.Parse(value, CultureInfo.InvariantCulture) },
                "--files" => settings with { Files = int.Parse(value, CultureInfo.InvariantCulture) },
                "--runs" => settings with { Runs = int.Parse(value, CultureInfo.InvariantCulture) },
                "--rss-gib" => settings with { RssGiB = int.Parse(value, CultureInfo.InvariantCulture) },
                "--parallel" => settings with { Parallel = value },
                "--warm-ups" => settings with { WarmUps = int.Parse(value, CultureInfo.InvariantCulture) },
                _ => settings,
            };
        }

        return settings;
    }
}

/// <summary>One row: SecureXfer against the two sftp variants, with the ratios the targets ask for.</summary>
internal sealed record Result(string Name, double SecureXfer, double Sftp, double? SftpGcm, double? TargetVsSftp, double? TargetVsGcm);

/// <summary>Runs the real CLI (built sxfer.dll) with its own config directory.</summary>
internal sealed class CliDriver(ServerProcess server, string configDir)
{
    private Dictionary<string, string> Environment => new() { ["SXFER_CONFIG"] = configDir };

    public async Task LoginAsync()
    {
        var (code, stdout, stderr) = await Tool.RunAsync("dotnet",
            [Repo.CliDll, "login", "--server", $"https://localhost:{server.HttpsPort}", "--user", "admin", "--password-stdin", "--ca", server.CertificatePath],
            stdin: ServerProcess.AdminPassword + "\n", environment: Environment);
        if (code != 0)
        {
            throw new InvalidOperationException($"login failed: {stdout} {stderr}");
        }
    }

    public async Task RunAsync(params string[] args)
    {
        var (code, stdout, stderr) = await Tool.RunAsync("dotnet", [Repo.CliDll, .. args, "--json", "--no-progress"], timeout: TimeSpan.FromMinutes(15), environment: Environment);
        if (code != 0)
        {
            throw new InvalidOperationException($"sxfer {string.Join(' ', args)} failed ({code}): {stdout} {stderr}");
        }
    }

    /// <summary>Runs the CLI under GNU time and returns its peak resident set in MiB.</summary>
    public async Task<double> PeakRssAsync(params string[] args)
    {
        var (code, stdout, stderr) = await Tool.RunAsync("/usr/bin/time", ["-f", "peak-rss-kib=%M", "dotnet", Repo.CliDll, .. args, "--json", "--no-progress"], timeout: TimeSpan.FromMinutes(30), environment: Environment);
        if (code != 0)
        {
            throw new InvalidOperationException($"sxfer {string.Join(' ', args)} failed ({code}): {stdout} {stderr}");
        }

        var line = stderr.Split('\n').Last(l => l.StartsWith("peak-rss-kib=", StringComparison.Ordinal));
        return double.Parse(line["peak-rss-kib=".Length..], CultureInfo.InvariantCulture) / 1024;
    }
}

/// <summary>CPU time and peak memory of the server process, from /proc.</summary>
internal sealed class ServerCpu(ServerProcess server)
{
    private double _mark;

    private string Proc => $"/proc/{server.ProcessId}";

    public void Mark() => _mark = Seconds();

    public double SecondsSinceMark() => Seconds() - _mark;

    /// <summary>Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS.</summary>
    public void ResetPeakRss() => File.WriteAllText($"{Proc}/clear_refs", "5");

    public double PeakRssMiB()
    {
        var line = File.ReadAllLines($"{Proc}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    private double Seconds()
    {
        var stat = File.ReadAllText($"{Proc}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}

internal static class Report
{
    public static void Print(List<Result> results, double pump, double sxUp, double sxDown, double upCpu, double downCpu, BenchSettings settings, string? memory)
    {
        Console.WriteLine();
        Console.WriteLine("| measure | SecureXfer | sftp (default, chacha20-poly1305) | ratio | sftp (aes128-gcm) | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.SecureXfer:F0} | {r.Sftp:F0} | {Ratio(r.SecureXfer, r.Sftp, r.TargetVsSftp)} | {(r.SftpGcm is { } g ? g.ToString("F0", CultureInfo.InvariantCulture) : "-")} | {(r.SftpGcm is { } g2 ? Ratio(r.SecureXfer, g2, r.TargetVsGcm) : "-")} |"));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Raw SslStream pump (same certificate, loopback, no protocol): {pump:F0} MB/s."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SecureXfer upload = {100 * sxUp / pump:F0}% of it, download = {100 * sxDown / pump:F0}% (target >= 70%)."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Server CPU per {settings.SizeMiB} MiB: upload {upCpu:F2} s, download {downCpu:F2} s."));
        if (memory is not null)
        {
            Console.WriteLine(memory);
        }
    }

    private static string Ratio(double ours, double theirs, double? target)
    {
        var ratio = ours / theirs;
        var verdict = target is { } t ? (ratio >= t ? $" (>= {t:F2}: met)" : $" (>= {t:F2}: MISSED)") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x{verdict}");
    }
}
