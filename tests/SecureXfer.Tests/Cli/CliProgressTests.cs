using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>The progress bar: on a terminal (a pseudo-terminal made by script(1)), never in a pipe or with --no-progress.</summary>
public sealed class CliProgressTests(CliServer fixture) : IClassFixture<CliServer>
{
    private static async Task<string> RunOnTerminalAsync(CliRunner cli, string arguments)
    {
        var command = $"dotnet {Repo.CliDll} {arguments}";
        var (code, stdout, stderr) = await Tool.RunAsync("script", ["-qec", command, "/dev/null"],
            environment: new Dictionary<string, string> { ["SXFER_CONFIG"] = cli.ConfigDir, ["TERM"] = "xterm" }, timeout: TimeSpan.FromSeconds(60));
        Assert.True(code == 0, stdout + stderr);
        return stdout;
    }

    [Fact]
    public async Task A_terminal_shows_a_bar_with_percent_rate_and_time_left()
    {
        using var home = new TempDir("sx-tty");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var file = home.Combine("p.bin");
        TestFiles.WriteRandom(file, 24L << 20);
        var remote = CliServer.RemoteRoot() + "/p.bin";

        var shown = await RunOnTerminalAsync(cli, $"put {file} {remote} --limit-rate 12M");
        Assert.Contains("%", shown, StringComparison.Ordinal);
        Assert.Contains("/s", shown, StringComparison.Ordinal);
        Assert.Matches(@"\d\d:\d\d:\d\d", shown);

        var hidden = await RunOnTerminalAsync(cli, $"get {remote} {home.Combine("back.bin")} --no-progress");
        Assert.DoesNotContain("%", hidden, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pipe_gets_no_progress_at_all()
    {
        using var home = new TempDir("sx-pipe");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var file = home.Combine("p.bin");
        TestFiles.WriteRandom(file, 8L << 20);
        var result = await cli.RunAsync("put", file, CliServer.RemoteRoot() + "/p.bin", "--limit-rate", "8M");
        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("%", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }
}
