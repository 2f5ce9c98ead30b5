using System.Net;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary><c>sxfer users ...</c> against a real server: the JSON it prints, exit codes, and the effect of each command.</summary>
public sealed class CliUserTests(CliServer fixture) : IClassFixture<CliServer>
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task An_admin_adds_lists_changes_resets_and_removes_a_user()
    {
        using var home = new TempDir("sx-cli-users");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var name = "u" + Guid.NewGuid().ToString("N")[..8];

        var add = await cli.RunAsync(["users", "add", name, "--role", "user", "--quota", "10M", "--display-name", "Test User", "--password-stdin", "--json"], "first-password-1\n");
        Assert.True(add.ExitCode == 0, add.ToString());
        var created = add.Json();
        Assert.Equal(["createdAt", "disabled", "displayName", "id", "quotaBytes", "role", "updatedAt", "username"], CliServer.Keys(created));
        Assert.Equal(10L << 20, created.GetProperty("quotaBytes").GetInt64());
        var id = created.GetProperty("id").GetInt64();

        var list = await cli.RunAsync("users", "list", "--search", name, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(["items", "page", "pageSize", "total"], CliServer.Keys(list.Json()));
        Assert.Equal(name, Assert.Single(list.Json().GetProperty("items").EnumerateArray()).GetProperty("username").GetString());

        var set = await cli.RunAsync("users", "set", name, "--role", "auditor", "--quota", "none", "--disable", "--json");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal("auditor", set.Json().GetProperty("role").GetString());
        Assert.True(set.Json().GetProperty("disabled").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, set.Json().GetProperty("quotaBytes").ValueKind);

        Assert.Equal(0, (await cli.RunAsync("users", "set", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--enable")).ExitCode);
        var reset = await cli.RunAsync(["users", "passwd", name, "--password-stdin", "--json"], "second-password-2\n");
        Assert.True(reset.ExitCode == 0, reset.ToString());
        using (var login = await Server.PostLoginAsync(name, "second-password-2"))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }

        // Removing without --yes and without a terminal is refused; nothing is deleted.
        var refused = await cli.RunAsync("users", "rm", name);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal(1L, Server.Scalar($"SELECT count(*) FROM users WHERE id = {id}"));

        var removed = await cli.RunAsync("users", "rm", name, "--yes", "--json");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.Equal(0L, Server.Scalar($"SELECT count(*) FROM users WHERE id = {id}"));

        var gone = await cli.RunAsync("users", "rm", name, "--yes", "--json");
        Assert.Equal(4, gone.ExitCode);
        Assert.Equal("not_found", gone.Json().GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_plain_user_may_change_their_own_password_but_not_manage_users()
    {
        var name = "p" + Guid.NewGuid().ToString("N")[..8];
        await Server.AddUserAsync(name, "plain-password-1");
        using var home = new TempDir("sx-cli-self");
        var cli = CliServer.Runner(home);
        var login = await cli.RunAsync(["login", "--server", Server.BaseUrl, "--user", name, "--ca", Server.CertificatePath, "--password-stdin", "--json"], "plain-password-1\n");
        Assert.True(login.ExitCode == 0, login.ToString());

        var list = await cli.RunAsync("users", "list", "--json");
        Assert.Equal(3, list.ExitCode);
        Assert.Equal("forbidden", list.Json().GetProperty("error").GetProperty("code").GetString());

        var wrong = await cli.RunAsync(["users", "passwd", "--password-stdin", "--json"], "not-the-password\nplain-password-2\n");
        Assert.Equal(3, wrong.ExitCode);

        var changed = await cli.RunAsync(["users", "passwd", "--password-stdin", "--json"], "plain-password-1\nplain-password-2\n");
        Assert.True(changed.ExitCode == 0, changed.ToString());

        // The saved token died with the change.
        var after = await cli.RunAsync("users", "passwd", "--password-stdin", "--json");
        Assert.NotEqual(0, after.ExitCode);
        using var relogin = await Server.PostLoginAsync(name, "plain-password-2");
        Assert.Equal(HttpStatusCode.OK, relogin.StatusCode);
    }

    [Fact]
    public async Task Bad_values_are_usage_errors_that_name_the_problem()
    {
        using var home = new TempDir("sx-cli-bad");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);

        var badRole = await cli.RunAsync(["users", "add", "r" + Guid.NewGuid().ToString("N")[..8], "--role", "root", "--password-stdin", "--json"], "valid-password-1\n");
        Assert.Equal(2, badRole.ExitCode);
        Assert.Contains("role", badRole.Json().GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var badQuota = await cli.RunAsync("users", "set", "admin", "--quota", "lots");
        Assert.Equal(2, badQuota.ExitCode);

        var nothing = await cli.RunAsync("users", "set", "admin");
        Assert.Equal(2, nothing.ExitCode);
    }
}

/// <summary><c>sxfer keys ...</c>: a key is printed once, lists without its secret, works as a token, and stops when revoked.</summary>
public sealed class CliKeyTests(CliServer fixture) : IClassFixture<CliServer>
{
    [Fact]
    public async Task Keys_are_added_listed_used_and_revoked()
    {
        using var home = new TempDir("sx-cli-keys");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);

        var add = await cli.RunAsync("keys", "add", "ci job", "--expires-in-days", "30", "--json");
        Assert.True(add.ExitCode == 0, add.ToString());
        var created = add.Json();
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("sxk_", key, StringComparison.Ordinal);

        var list = await cli.RunAsync("keys", "list", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.Json().GetProperty("items").EnumerateArray(), k => k.GetProperty("id").GetString() == id && k.GetProperty("name").GetString() == "ci job");
        Assert.DoesNotContain(key[(key.IndexOf('.') + 1)..], list.Stdout, StringComparison.Ordinal);

        await using (var sxp = new SecureXfer.Shared.Protocol.Client.SxpClient(fixture.Server.Endpoint, key))
        {
            await sxp.ListAsync("/", CancellationToken.None);
        }

        var revoke = await cli.RunAsync("keys", "revoke", id, "--json");
        Assert.True(revoke.ExitCode == 0, revoke.ToString());
        var again = await cli.RunAsync("keys", "revoke", "000000000000000000000000", "--json");
        Assert.Equal(4, again.ExitCode);
    }
}

/// <summary><c>sxfer audit</c>: lists records as JSON and verifies the chain.</summary>
public sealed class CliAuditTests(CliServer fixture) : IClassFixture<CliServer>
{
    [Fact]
    public async Task Audit_lists_filtered_records_and_verifies_the_chain()
    {
        using var home = new TempDir("sx-cli-audit");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);

        var list = await cli.RunAsync("audit", "--action", "auth.login", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var items = list.Json().GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(items);
        Assert.All(items, i => Assert.Equal("auth.login", i.GetProperty("action").GetString()));

        var verify = await cli.RunAsync("audit", "--verify", "--json");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.True(verify.Json().GetProperty("ok").GetBoolean());
    }
}

/// <summary><c>sxfer logout</c> ends the token on the server, not only on this machine.</summary>
public sealed class CliLogoutTests(CliServer fixture) : IClassFixture<CliServer>
{
    [Fact]
    public async Task Logout_revokes_the_saved_token()
    {
        using var home = new TempDir("sx-cli-logout");
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        var state = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(cli.ConfigDir, "login.json")));
        var token = state.RootElement.GetProperty("accessToken").GetString()!;

        var logout = await cli.RunAsync("logout", "--json");
        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.True(logout.Json().GetProperty("wasLoggedIn").GetBoolean());

        using var http = fixture.Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
