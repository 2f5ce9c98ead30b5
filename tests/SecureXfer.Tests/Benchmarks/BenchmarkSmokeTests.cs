using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Benchmarks;

/// <summary>The benchmark is a program, not a test; this only proves its quick mode still runs end to end.</summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public async Task The_quick_benchmark_runs_against_sshd_and_prints_its_table()
    {
        var (code, stdout, stderr) = await Tool.RunAsync("dotnet", [Repo.BenchmarkDll, "--quick", "--size", "8", "--files", "20"], timeout: TimeSpan.FromMinutes(5));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("| upload, MB/s |", stdout, StringComparison.Ordinal);
        Assert.Contains("| 20 x 4 KiB upload, files/s |", stdout, StringComparison.Ordinal);
        Assert.Contains("Raw SslStream pump", stdout, StringComparison.Ordinal);
    }
}
