using System.Net;
using System.Net.Http.Json;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Rest;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// Guessing through any door that takes a credential leads to the same ban: the password login,
/// the password confirmation of a password change, refresh tokens, API keys and SXP AUTH. Each
/// door's failures count against the address (and, for passwords, the account), and a ban
/// earned at one door closes the others too.
/// </summary>
public sealed class BruteForceTests
{
    private const int AddressLimit = 5;
    private const int AccountLimit = 3;

    private static Task<ServerProcess> StartAsync() => ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["SecureXfer__LoginFailuresPerAccount"] = AccountLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SecureXfer__LoginFailuresPerAddress"] = AddressLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SecureXfer__LoginBanBase"] = "00:10:00",
    });

    private static async Task AssertAddressBannedAsync(ServerProcess server, string username, string password)
    {
        // The right password of an account that never failed is refused from the banned address...
        using var login = await server.PostLoginAsync(username, password);
        Assert.Equal(HttpStatusCode.TooManyRequests, login.StatusCode);
        Assert.NotNull(login.Headers.RetryAfter?.Delta);

        // ...because the address carries a ban (which an admin sees and can lift).
        Assert.Equal(1, server.Scalar("SELECT count(*) FROM login_bans WHERE kind = 'address' AND subject = '127.0.0.1' AND banned_until IS NOT NULL"));
    }

    [Fact]
    public async Task Guessing_the_current_password_of_a_password_change_bans_further_changes()
    {
        await using var server = await StartAsync();
        var carolId = await server.AddUserAsync("carol", "carol-password");
        using var carol = new RestClient(server, await server.LoginAsync("carol", "carol-password"));
        var hash = server.ScalarText("SELECT password_hash FROM users WHERE username = 'carol'");

        for (var i = 0; i < AccountLimit; i++)
        {
            var wrong = await carol.PostAsync("/api/v1/me/password", new ChangePasswordRequest("guess-" + i, "a-new-password-1"));
            await RestClient.ExpectAsync(wrong, HttpStatusCode.Forbidden);
        }

        // Now even the right current password is refused; the change has a counter of its own,
        // so the owner's logins are not what it bans.
        var right = await carol.PostAsync("/api/v1/me/password", new ChangePasswordRequest("carol-password", "a-new-password-1"));
        await RestClient.ExpectAsync(right, HttpStatusCode.TooManyRequests);
        Assert.Equal(hash, server.ScalarText("SELECT password_hash FROM users WHERE username = 'carol'"));
        Assert.Equal(1, server.Scalar($"SELECT count(*) FROM login_bans WHERE kind = 'account' AND subject = '#password-change-{carolId}' AND banned_until IS NOT NULL"));
    }

    [Fact]
    public async Task Failed_logins_by_others_do_not_stop_the_owner_changing_the_password()
    {
        await using var server = await StartAsync();
        await server.AddUserAsync("dave", "dave-password");
        using var dave = await RestClient.AsAsync(server, "dave", "dave-password");
        for (var i = 0; i < AccountLimit; i++)
        {
            using var wrong = await server.PostLoginAsync("dave", "guess-" + i);
        }

        using (var banned = await server.PostLoginAsync("dave", "dave-password"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, banned.StatusCode);
        }

        var change = await dave.PostAsync("/api/v1/me/password", new ChangePasswordRequest("dave-password", "dave-new-password"));
        await RestClient.ExpectAsync(change, HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Expired_revoked_and_spent_credentials_are_not_counted_as_guesses()
    {
        await using var server = await StartAsync();
        using var response = await server.PostLoginAsync("admin", ServerProcess.AdminPassword);
        var login = (await response.Content.ReadFromJsonAsync<LoginResponse>())!;
        using var admin = new RestClient(server, login.AccessToken);
        var key = await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/keys", new CreateKeyRequest("cron", null)), HttpStatusCode.Created);
        await RestClient.ExpectAsync(await admin.DeleteAsync($"/api/v1/keys/{key.GetProperty("id").GetString()}"), HttpStatusCode.NoContent);
        using var http = server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/api/v1/auth/refresh", new RefreshRequest(login.RefreshToken!))).StatusCode);

        // Twice the address limit of a forgotten cron job's revoked key, a spent refresh token, and SXP AUTH with the revoked key.
        for (var i = 0; i < 2 * AddressLimit; i++)
        {
            using var revoked = new RestClient(server, key.GetProperty("key").GetString());
            Assert.Equal(HttpStatusCode.Unauthorized, (await revoked.GetAsync("/api/v1/me")).StatusCode);
            await using var sxp = new SxpClient(server.Endpoint, key.GetProperty("key").GetString()!);
            Assert.Equal(ErrorCode.AuthFailed, (await Assert.ThrowsAsync<SxpException>(() => sxp.ListAsync("/", CancellationToken.None))).Code);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/v1/auth/refresh", new RefreshRequest(login.RefreshToken!))).StatusCode);
        }

        Assert.Equal(0, server.Scalar("SELECT count(*) FROM login_bans WHERE banned_until IS NOT NULL"));
        using var again = await server.PostLoginAsync("admin", ServerProcess.AdminPassword);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Made_up_refresh_tokens_ban_the_address()
    {
        await using var server = await StartAsync();
        using var http = server.CreateHttpClient();
        for (var i = 0; i < AddressLimit; i++)
        {
            using var wrong = await http.PostAsJsonAsync("/api/v1/auth/refresh", new RefreshRequest($"sxr_{i:x8}.{Guid.NewGuid():N}"));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var banned = await http.PostAsJsonAsync("/api/v1/auth/refresh", new RefreshRequest("sxr_00000000.0000")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, banned.StatusCode);
        }

        await AssertAddressBannedAsync(server, "admin", ServerProcess.AdminPassword);
    }

    [Fact]
    public async Task Made_up_API_keys_ban_the_address()
    {
        await using var server = await StartAsync();
        for (var i = 0; i < AddressLimit; i++)
        {
            using var guess = new RestClient(server, $"sxk_{i:x8}.{Guid.NewGuid():N}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await guess.GetAsync("/api/v1/me")).StatusCode);
        }

        await AssertAddressBannedAsync(server, "admin", ServerProcess.AdminPassword);
    }

    [Fact]
    public async Task Made_up_tokens_on_SXP_ban_the_address_and_then_a_good_token_is_refused_too()
    {
        await using var server = await StartAsync();
        var good = await server.LoginAsync();
        for (var i = 0; i < AddressLimit; i++)
        {
            await using var guess = new SxpClient(server.Endpoint, "sxk_guess" + i + "." + Guid.NewGuid().ToString("N"));
            var refused = await Assert.ThrowsAsync<SxpException>(() => guess.ListAsync("/", CancellationToken.None));
            Assert.Equal(ErrorCode.AuthFailed, refused.Code);
        }

        await using (var client = new SxpClient(server.Endpoint, good))
        {
            var refused = await Assert.ThrowsAsync<SxpException>(() => client.ListAsync("/", CancellationToken.None));
            Assert.Equal(ErrorCode.AuthFailed, refused.Code);
            Assert.Contains("Too many failed logins", refused.Message, StringComparison.Ordinal);
        }

        await AssertAddressBannedAsync(server, "admin", ServerProcess.AdminPassword);
    }
}
