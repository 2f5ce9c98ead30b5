using System.Text.Json;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>One real server per test class, plus the steps most CLI tests start with.</summary>
public sealed class CliServer : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ServerProcess.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>A runner with its own config directory inside <paramref name="home"/>.</summary>
    internal static CliRunner Runner(TempDir home) => new(home.Combine("config"), home.Path);

    /// <summary>Logs in as admin, trusting the server's certificate file as CA; returns the login JSON.</summary>
    internal async Task<JsonElement> LoginAsync(CliRunner cli)
    {
        var result = await cli.RunAsync(
            ["login", "--server", Server.BaseUrl, "--user", "admin", "--ca", Server.CertificatePath, "--password-stdin", "--json"],
            ServerProcess.AdminPassword + "\n");
        Assert.True(result.ExitCode == 0, $"{result}\nserver output (last lines):\n{ServerTail()}");
        return result.Json();
    }

    internal string ServerTail() => Server.Tail(30);

    /// <summary>A fresh remote directory name, so tests sharing a server do not meet.</summary>
    internal static string RemoteRoot() => "/t-" + Guid.NewGuid().ToString("N")[..12];

    internal static string[] Keys(JsonElement element) =>
        [.. element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
}
