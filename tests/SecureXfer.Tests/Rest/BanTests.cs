using System.Net;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>Repeated failed logins ban the account or the address for a growing time; admins list and lift bans.</summary>
public sealed class BanTests
{
    private static Dictionary<string, string> Thresholds(int account, int address) => new()
    {
        ["SecureXfer__LoginFailuresPerAccount"] = account.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SecureXfer__LoginFailuresPerAddress"] = address.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SecureXfer__LoginBanBase"] = "00:10:00",
    };

    [Fact]
    public async Task Failures_on_one_account_ban_it_even_for_the_right_password_until_an_admin_lifts_the_ban()
    {
        await using var server = await ServerProcess.StartAsync(Thresholds(account: 4, address: 1000));
        await server.AddUserAsync("bob", "bob-password");
        using var admin = new RestClient(server, await server.LoginAsync());

        for (var i = 0; i < 4; i++)
        {
            using var wrong = await server.PostLoginAsync("bob", "guess-" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var right = await server.PostLoginAsync("bob", "bob-password"))
        {
            await RestClient.ExpectAsync(right, HttpStatusCode.TooManyRequests);
            var retry = right.Headers.RetryAfter?.Delta;
            Assert.NotNull(retry);
            Assert.InRange(retry!.Value.TotalSeconds, 500, 601);
        }

        // Another account from the same address is not affected.
        _ = await server.LoginAsync();

        var bans = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/bans"), HttpStatusCode.OK);
        var ban = Assert.Single(bans.GetProperty("items").EnumerateArray());
        Assert.Equal("account", ban.GetProperty("kind").GetString());
        Assert.Equal("bob", ban.GetProperty("subject").GetString());
        Assert.Equal(1, ban.GetProperty("banCount").GetInt32());

        await RestClient.ExpectAsync(await admin.DeleteAsync("/api/v1/bans/account/bob"), HttpStatusCode.NoContent);
        await RestClient.ExpectAsync(await admin.DeleteAsync("/api/v1/bans/account/bob"), HttpStatusCode.NotFound);
        using var after = await server.PostLoginAsync("bob", "bob-password");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);

        var audit = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/audit?action=auth.login&pageSize=500"), HttpStatusCode.OK);
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), r => r.GetProperty("outcome").GetString() == "banned");
    }

    [Fact]
    public async Task Failures_across_many_names_ban_the_address_and_made_up_names_count_too()
    {
        await using var server = await ServerProcess.StartAsync(Thresholds(account: 1000, address: 6));
        var admin = new RestClient(server, await server.LoginAsync());
        for (var i = 0; i < 6; i++)
        {
            using var wrong = await server.PostLoginAsync("nobody" + i, "guess");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // Now even the admin's right password is refused from this address.
        using (var refused = await server.PostLoginAsync("admin", ServerProcess.AdminPassword))
        {
            await RestClient.ExpectAsync(refused, HttpStatusCode.TooManyRequests);
        }

        // A token issued before keeps working; the admin lifts the address ban with it.
        var bans = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/bans"), HttpStatusCode.OK);
        var ban = Assert.Single(bans.GetProperty("items").EnumerateArray());
        Assert.Equal("address", ban.GetProperty("kind").GetString());
        await RestClient.ExpectAsync(await admin.DeleteAsync($"/api/v1/bans/address/{ban.GetProperty("subject").GetString()}"), HttpStatusCode.NoContent);
        _ = await server.LoginAsync();
        admin.Dispose();

        // Non-admins may not see or lift bans.
        await server.AddUserAsync("carl", "carl-password");
        using var carl = await RestClient.AsAsync(server, "carl", "carl-password");
        await RestClient.ExpectAsync(await carl.GetAsync("/api/v1/bans"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Simultaneous_failures_are_all_counted_and_none_is_an_error()
    {
        await using var server = await ServerProcess.StartAsync(Thresholds(account: 6, address: 1000));
        await server.AddUserAsync("eve", "eve-password");
        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => server.PostLoginAsync("eve", "parallel-" + i)));
        foreach (var attempt in attempts)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, attempt.StatusCode);
            attempt.Dispose();
        }

        using var banned = await server.PostLoginAsync("eve", "eve-password");
        Assert.Equal(HttpStatusCode.TooManyRequests, banned.StatusCode);
    }

    [Fact]
    public async Task A_repeated_ban_lasts_twice_as_long()
    {
        await using var server = await ServerProcess.StartAsync(Thresholds(account: 2, address: 1000));
        await server.AddUserAsync("dan", "dan-password");
        using var admin = new RestClient(server, await server.LoginAsync());

        async Task<double> BanSecondsAsync()
        {
            for (var i = 0; i < 2; i++)
            {
                using var wrong = await server.PostLoginAsync("dan", "nope");
            }

            using var banned = await server.PostLoginAsync("dan", "dan-password");
            Assert.Equal(HttpStatusCode.TooManyRequests, banned.StatusCode);
            return banned.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        }

        var first = await BanSecondsAsync();
        server.Execute("UPDATE login_bans SET banned_until = 0 WHERE subject = 'dan'");
        var second = await BanSecondsAsync();
        Assert.InRange(second / first, 1.9, 2.1);
    }
}
