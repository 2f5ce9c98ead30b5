using System.Diagnostics;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>An sxfer put or get killed half way finishes on the next run without starting over.</summary>
public sealed class CliResumeTests(CliServer fixture) : IClassFixture<CliServer>
{
    private const long FileSize = 64L << 20;

    [Fact]
    public async Task A_killed_put_resumes_when_run_again()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var remote = CliServer.RemoteRoot() + "/big.bin";
        var source = home.Combine("big.bin");
        var sha = TestFiles.WriteRandom(source, FileSize);

        using (var running = cli.StartDetached(["put", source, remote, "--limit-rate", "8M", "--chunk-size", "1M", "--json"]))
        {
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            KillMidway(running);
        }

        var again = await cli.RunAsync("put", source, remote, "--chunk-size", "1M", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        var file = Assert.Single(again.Json().GetProperty("files").EnumerateArray());
        Assert.True(file.GetProperty("resumedFrom").GetInt64() > 0, again.Stdout);
        Assert.True(file.GetProperty("resumedFrom").GetInt64() < FileSize, again.Stdout);
        Assert.Equal(sha, file.GetProperty("sha256").GetString());

        var stat = await cli.RunAsync("stat", remote, "--json");
        Assert.Equal(sha, stat.Json().GetProperty("sha256").GetString());
        Assert.Equal(FileSize, stat.Json().GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task A_killed_get_resumes_when_run_again()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var remote = CliServer.RemoteRoot() + "/big.bin";
        var source = home.Combine("source.bin");
        var sha = TestFiles.WriteRandom(source, FileSize);
        Assert.Equal(0, (await cli.RunAsync("put", source, remote)).ExitCode);

        var target = home.Combine("copy.bin");
        using (var running = cli.StartDetached(["get", remote, target, "--limit-rate", "8M", "--json"]))
        {
            // The partial state is saved about once a second; wait until it is on disk.
            var clock = Stopwatch.StartNew();
            while (!File.Exists(target + ".sxpart.json") && clock.Elapsed < TimeSpan.FromSeconds(6))
            {
                await Task.Delay(100);
            }

            await Task.Delay(300);
            KillMidway(running);
        }

        Assert.False(File.Exists(target));
        Assert.True(File.Exists(target + ".sxpart"));

        var again = await cli.RunAsync("get", remote, target, "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        var file = Assert.Single(again.Json().GetProperty("files").EnumerateArray());
        Assert.True(file.GetProperty("resumedFrom").GetInt64() > 0, again.Stdout);
        Assert.True(file.GetProperty("resumedFrom").GetInt64() < FileSize, again.Stdout);
        Assert.Equal(sha, file.GetProperty("sha256").GetString());
        Assert.Equal(sha, TestFiles.Sha256(target));
        Assert.Empty(Directory.GetFiles(home.Path, "*.sxpart*"));
    }

    /// <summary>SIGKILL, and proof that the run was still going (not already finished).</summary>
    private static void KillMidway(Process running)
    {
        Assert.False(running.HasExited, "The transfer ended before it could be interrupted.");
        running.Kill(entireProcessTree: true);
        Assert.True(running.WaitForExit(10_000));
    }
}
