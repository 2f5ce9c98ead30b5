using System.Text.Json.Nodes;
using SecureXfer.Shared.Security;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>How sxfer logs in, which servers it trusts, and what it keeps on disk.</summary>
public sealed class CliLoginTests(CliServer fixture) : IClassFixture<CliServer>
{
    private ServerProcess Server => fixture.Server;

    private string Fingerprint => CertificateFingerprint.Of(Server.Certificate);

    private string[] LoginArgs(params string[] extra) =>
        ["login", "--server", Server.BaseUrl, "--user", "admin", "--password-stdin", .. extra];

    [Fact]
    public async Task Login_with_a_pinned_fingerprint_works_and_later_commands_use_the_pin()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);

        var login = await cli.RunAsync(LoginArgs("--fingerprint", Fingerprint, "--json"), ServerProcess.AdminPassword + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Equal(Fingerprint, login.Json().GetProperty("fingerprint").GetString());

        var ls = await cli.RunAsync("ls", "/", "--json");
        Assert.True(ls.ExitCode == 0, ls.ToString());
        Assert.True(ls.Json().TryGetProperty("entries", out _));
    }

    [Fact]
    public async Task Login_without_a_trust_option_and_without_a_terminal_fails_and_shows_the_fingerprint()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);

        var human = await cli.RunAsync(LoginArgs(), ServerProcess.AdminPassword + "\n");
        Assert.Equal(1, human.ExitCode);
        Assert.Contains(Fingerprint, human.Stderr, StringComparison.Ordinal);
        Assert.Contains("--fingerprint", human.Stderr, StringComparison.Ordinal);
        Assert.Contains("--ca", human.Stderr, StringComparison.Ordinal);

        var json = await cli.RunAsync(LoginArgs("--json"), ServerProcess.AdminPassword + "\n");
        Assert.Equal(1, json.ExitCode);
        var error = json.Json().GetProperty("error");
        Assert.Equal("untrusted_server", error.GetProperty("code").GetString());
        Assert.Equal(Fingerprint, error.GetProperty("fingerprint").GetString());
        Assert.False(File.Exists(Path.Combine(cli.ConfigDir, "login.json")));

        var wrongPin = await cli.RunAsync(LoginArgs("--fingerprint", "SHA256:" + new string('0', 64)), ServerProcess.AdminPassword + "\n");
        Assert.Equal(1, wrongPin.ExitCode);
        Assert.Contains(Fingerprint, wrongPin.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_password_not_logged_in_and_expired_login_exit_3()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);

        var notLoggedIn = await cli.RunAsync("ls", "--json");
        Assert.Equal(3, notLoggedIn.ExitCode);
        Assert.Equal("not_logged_in", notLoggedIn.Json().GetProperty("error").GetProperty("code").GetString());
        var notLoggedInHuman = await cli.RunAsync("ls");
        Assert.Equal(3, notLoggedInHuman.ExitCode);
        Assert.Contains("sxfer login", notLoggedInHuman.Stderr, StringComparison.Ordinal);

        var wrong = await cli.RunAsync(LoginArgs("--ca", Server.CertificatePath, "--json"), "not-the-password\n");
        Assert.Equal(3, wrong.ExitCode);
        Assert.Equal("auth_failed", wrong.Json().GetProperty("error").GetProperty("code").GetString());
        Assert.False(File.Exists(Path.Combine(cli.ConfigDir, "login.json")));

        var noPassword = await cli.RunAsync(["login", "--server", Server.BaseUrl, "--user", "admin", "--ca", Server.CertificatePath], stdin: null);
        Assert.Equal(2, noPassword.ExitCode);

        // A saved login past its expiry is renewed with its refresh token...
        await fixture.LoginAsync(cli);
        var statePath = Path.Combine(cli.ConfigDir, "login.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        state["expiresAt"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O");
        File.WriteAllText(statePath, state.ToJsonString());
        var renewed = await cli.RunAsync("ls", "/");
        Assert.True(renewed.ExitCode == 0, renewed.ToString());
        Assert.True(JsonNode.Parse(File.ReadAllText(statePath))!["expiresAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow);

        // ...and without one it is refused locally.
        state["refreshToken"] = null;
        File.WriteAllText(statePath, state.ToJsonString());
        var expired = await cli.RunAsync("ls", "/");
        Assert.Equal(3, expired.ExitCode);
        Assert.Contains("sxfer login", expired.Stderr, StringComparison.Ordinal);

        // A token the server refuses.
        state["expiresAt"] = DateTimeOffset.UtcNow.AddMinutes(30).ToString("O");
        state["accessToken"] = "not-a-token";
        File.WriteAllText(statePath, state.ToJsonString());
        var refused = await cli.RunAsync("ls", "/", "--json");
        Assert.Equal(3, refused.ExitCode);
        Assert.Equal("auth_failed", refused.Json().GetProperty("error").GetProperty("code").GetString());

        // After logout, nothing works until the next login.
        await fixture.LoginAsync(cli);
        Assert.Equal(0, (await cli.RunAsync("ls", "/")).ExitCode);
        var logout = await cli.RunAsync("logout", "--json");
        Assert.True(logout.Json().GetProperty("ok").GetBoolean());
        Assert.False(File.Exists(statePath));
        Assert.Equal(3, (await cli.RunAsync("ls", "/")).ExitCode);
    }

    [Fact]
    public async Task Config_is_private_holds_no_password_and_the_token_is_never_printed()
    {
        using var home = new TempDir("sx-cli");
        var cli = CliServer.Runner(home);

        var login = await cli.RunAsync(LoginArgs("--ca", Server.CertificatePath), ServerProcess.AdminPassword + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(cli.ConfigDir));
        var files = Directory.GetFiles(cli.ConfigDir);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.DoesNotContain(ServerProcess.AdminPassword, File.ReadAllText(file), StringComparison.Ordinal);
        }

        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(cli.ConfigDir, "login.json")))!;
        var token = state["accessToken"]!.GetValue<string>();
        Assert.False(string.IsNullOrEmpty(token));
        Assert.Equal(Path.GetFullPath(Server.CertificatePath), state["caFile"]!.GetValue<string>());
        Assert.Equal(Fingerprint, state["fingerprint"]!.GetValue<string>());
        Assert.Equal(Server.SxpPort, state["sxpPort"]!.GetValue<int>());

        foreach (var output in new[] { login.Stdout, login.Stderr })
        {
            Assert.DoesNotContain(token, output, StringComparison.Ordinal);
            Assert.DoesNotContain(ServerProcess.AdminPassword, output, StringComparison.Ordinal);
        }

        // A later certificate that does not match the saved pin is refused, not mistaken for a bad token.
        state["caFile"] = null;
        state["fingerprint"] = "SHA256:" + new string('1', 64);
        File.WriteAllText(Path.Combine(cli.ConfigDir, "login.json"), state.ToJsonString());
        var pinned = await cli.RunAsync("ls", "/", "--json");
        Assert.Equal(1, pinned.ExitCode);
        Assert.Equal("untrusted_server", pinned.Json().GetProperty("error").GetProperty("code").GetString());
    }
}
