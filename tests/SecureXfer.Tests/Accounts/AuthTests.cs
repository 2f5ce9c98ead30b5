using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using SecureXfer.Server.Accounts;
using SecureXfer.Shared.Protocol;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Accounts;

public sealed class AuthTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess _server = fixture.Server;

    private static async Task<string> ProblemWithoutTraceAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var fields = json.RootElement.EnumerateObject().Where(p => p.Name != "traceId").Select(p => $"{p.Name}={p.Value}");
        return string.Join(";", fields);
    }

    [Fact]
    public async Task Unknown_user_and_wrong_password_get_the_same_answer_in_the_same_time()
    {
        await _server.AddUserAsync("grace", "grace-password");
        var unknown = new List<double>();
        var wrong = new List<double>();
        string? unknownBody = null;
        string? wrongBody = null;
        for (var i = 0; i < 4; i++)
        {
            var clock = Stopwatch.StartNew();
            using (var response = await _server.PostLoginAsync("nobody-" + i, "some-password"))
            {
                unknown.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                unknownBody = await ProblemWithoutTraceAsync(response);
            }

            clock.Restart();
            using (var response = await _server.PostLoginAsync("grace", "not-her-password-" + i))
            {
                wrong.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                wrongBody = await ProblemWithoutTraceAsync(response);
            }
        }

        Assert.Equal(unknownBody, wrongBody);
        var a = Median(unknown);
        var b = Median(wrong);
        Assert.True(Math.Abs(a - b) < 0.35 * Math.Max(a, b), $"unknown user {a:F0} ms, wrong password {b:F0} ms");
        Assert.True(a > 50, $"an unknown user should cost a full bcrypt check, took {a:F0} ms");
    }

    [Fact]
    public async Task A_disabled_account_cannot_log_in_and_its_tokens_stop_working()
    {
        var id = await _server.AddUserAsync("heidi", "heidi-password");
        var token = await _server.LoginAsync("heidi", "heidi-password");
        Assert.Equal(HttpStatusCode.OK, await MeStatusAsync(token));

        _server.Execute($"UPDATE users SET disabled = true WHERE id = {id}");
        Assert.Equal(HttpStatusCode.Unauthorized, await MeStatusAsync(token));
        using var login = await _server.PostLoginAsync("heidi", "heidi-password");
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        var error = await Assert.ThrowsAsync<SxpException>(async () =>
        {
            await using var client = new Shared.Protocol.Client.SxpClient(_server.Endpoint, token);
            await client.ConnectAsync(CancellationToken.None);
        });
        Assert.Equal(ErrorCode.AuthFailed, error.Code);
    }

    [Fact]
    public async Task Tokens_issued_before_a_credential_change_are_refused()
    {
        var id = await _server.AddUserAsync("ivan", "ivan-password");
        var token = await _server.LoginAsync("ivan", "ivan-password");
        _server.Execute($"UPDATE users SET security_stamp = 'changed' WHERE id = {id}");
        Assert.Equal(HttpStatusCode.Unauthorized, await MeStatusAsync(token));
    }

    [Fact]
    public async Task Tampered_and_unsigned_tokens_are_refused()
    {
        var token = await _server.LoginAsync();
        var parts = token.Split('.');
        var unsigned = parts[0] + "." + parts[1] + ".";
        var noneHeader = Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + parts[1] + ".";
        var flipped = parts[0] + "." + parts[1] + "." + (parts[2][0] == 'A' ? 'B' : 'A') + parts[2][1..];
        foreach (var bad in new[] { unsigned, noneHeader, flipped, token + "x" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await MeStatusAsync(bad));
        }

        Assert.Equal(HttpStatusCode.OK, await MeStatusAsync(token));
    }

    [Fact]
    public async Task Passwords_longer_than_bcrypt_reads_are_refused_not_truncated()
    {
        var exactly72 = new string('p', 72);
        await _server.AddUserAsync("judy", exactly72);
        Assert.NotNull(await _server.LoginAsync("judy", exactly72));
        using var longer = await _server.PostLoginAsync("judy", exactly72 + "suffix");
        Assert.Equal(HttpStatusCode.Unauthorized, longer.StatusCode);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _server.AddUserAsync("judy2", new string('p', 73)));
        Assert.Contains("72 bytes", error.Message, StringComparison.Ordinal);
        var multibyte = await Assert.ThrowsAsync<ArgumentException>(() => _server.AddUserAsync("judy3", new string('é', 37)));
        Assert.Contains("72 bytes", multibyte.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Passwords_are_stored_as_bcrypt_cost_12()
    {
        await _server.AddUserAsync("ken", "ken-password");
        using var db = _server.OpenDatabase();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT password_hash FROM users WHERE username = 'ken'";
        var hash = (string)command.ExecuteScalar()!;
        Assert.StartsWith("$2b$12$", hash, StringComparison.Ordinal);
        Assert.DoesNotContain("ken-password", _server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Bcrypt_hashes_from_other_tools_verify()
    {
        // Made with: htpasswd -nbBC 10 user secret-password
        const string apacheHash = "$2y$10$HpuRYEa7UmSzCXAX/6/iVOD43VdWnY76r.rxYwKH72t.8X1rPpl7y";
        Assert.True(PasswordHasher.Verify("secret-password", apacheHash));
        Assert.False(PasswordHasher.Verify("secret-passwore", apacheHash));
    }

    [Fact]
    public async Task Usernames_with_NUL_or_odd_characters_cannot_log_in_as_someone_else()
    {
        foreach (var name in new[] { "admin\0", "admin\0x", " admin", "ADMIN ", "admin%00", "admin'--" })
        {
            using var response = await _server.PostLoginAsync(name, ServerProcess.AdminPassword);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    private async Task<HttpStatusCode> MeStatusAsync(string token)
    {
        using var http = _server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
