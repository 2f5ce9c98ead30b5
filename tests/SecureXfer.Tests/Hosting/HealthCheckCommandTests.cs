using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Hosting;

/// <summary>The server's <c>healthcheck</c> command, which container health checks run: healthy, down, or not the server it expects.</summary>
public sealed class HealthCheckCommandTests
{
    [Fact]
    public async Task It_passes_for_a_running_server_and_fails_when_the_server_is_down_or_presents_another_certificate()
    {
        await using var server = await ServerProcess.StartAsync();
        var port = server.HttpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (code, stdout, stderr) = await RunAsync("--data-dir", server.DataDir, "--https-port", port);
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal("200 ok", stdout.Trim());

        // A certificate other than the one this configuration serves is not trusted: the check pins it.
        using var other = new TempDir("sx-health");
        Assert.Equal(0, (await Tool.RunAsync("bash", [Path.Combine(Repo.Root, "certs", "make-dev-certs.sh"), "-o", other.Path, "localhost", "127.0.0.1"])).ExitCode);
        (code, _, stderr) = await RunAsync("--data-dir", server.DataDir, "--https-port", port, "--cert", other.Combine("server.crt"), "--cert-key", other.Combine("server.key"));
        Assert.Equal(1, code);
        Assert.Contains("unhealthy", stderr, StringComparison.Ordinal);

        await server.TerminateAsync(TimeSpan.FromSeconds(60));
        (code, _, stderr) = await RunAsync("--data-dir", server.DataDir, "--https-port", port);
        Assert.Equal(1, code);
        Assert.Contains("unhealthy", stderr, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        Tool.RunAsync("dotnet", [Repo.ApiDll, "healthcheck", .. args], timeout: TimeSpan.FromSeconds(60));
}
