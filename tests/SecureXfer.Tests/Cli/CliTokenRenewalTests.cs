using System.Text.Json;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>
/// A saved login renews itself with its refresh token, so a sync left running outlives the
/// access token. Here tokens live 40 seconds, inside the CLI's renewal margin: every command renews.
/// </summary>
public sealed class CliTokenRenewalTests : IAsyncLifetime
{
    private ServerProcess _server = null!;

    public async Task InitializeAsync() =>
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__TokenLifetime"] = "00:00:40" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Commands_renew_a_dying_token_one_process_at_a_time_and_logout_ends_the_renewals()
    {
        using var home = new TempDir("sx-renew");
        var cli = CliServer.Runner(home);
        var login = await cli.RunAsync(["login", "--server", _server.BaseUrl, "--user", "admin", "--ca", _server.CertificatePath, "--password-stdin", "--json"], ServerProcess.AdminPassword + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        var saved = Path.Combine(cli.ConfigDir, "login.json");
        var (access1, refresh1) = Tokens(saved);
        Assert.NotNull(refresh1);
        Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(saved), 8));

        var list = await cli.RunAsync("ls", "/", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var (access2, refresh2) = Tokens(saved);
        Assert.NotEqual(access1, access2);
        Assert.NotEqual(refresh1, refresh2);

        // Several processes renewing at once spend each refresh token once: none is taken for a stolen copy.
        var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => cli.RunAsync("ls", "/", "--json")));
        Assert.All(together, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var after = await cli.RunAsync("ls", "/", "--json");
        Assert.True(after.ExitCode == 0, after.ToString());

        // Logout ends the refresh token's family: a copy of the saved login cannot renew itself afterwards.
        var copy = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(saved))!;
        Assert.Equal(0, (await cli.RunAsync("logout", "--json")).ExitCode);
        copy["expiresAt"] = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O");
        File.WriteAllText(saved, copy.ToJsonString());
        var stale = await cli.RunAsync("ls", "/", "--json");
        Assert.Equal(3, stale.ExitCode);
        Assert.Null(Tokens(saved).Refresh);
    }

    private static (string Access, string? Refresh) Tokens(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var root = document.RootElement;
        return (root.GetProperty("accessToken").GetString()!,
            root.TryGetProperty("refreshToken", out var refresh) ? refresh.GetString() : null);
    }
}
