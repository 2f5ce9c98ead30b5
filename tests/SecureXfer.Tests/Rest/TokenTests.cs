using System.Net;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>Refresh tokens, logout and API keys against the real host, on REST and on SXP.</summary>
public sealed class TokenTests : IAsyncLifetime
{
    private ServerProcess _server = null!;

    public async Task InitializeAsync() =>
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__AccountRecheckInterval"] = "00:00:00.500" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(string Access, string Refresh)> LoginAsync(string user, string password)
    {
        using var response = await _server.PostLoginAsync(user, password);
        var body = await RestClient.ExpectAsync(response, HttpStatusCode.OK);
        return (body.GetProperty("accessToken").GetString()!, body.GetProperty("refreshToken").GetString()!);
    }

    private async Task<HttpResponseMessage> RefreshAsync(string refresh)
    {
        using var anonymous = new RestClient(_server);
        return await anonymous.PostAsync("/api/v1/auth/refresh", new { refreshToken = refresh });
    }

    [Fact]
    public async Task A_refresh_token_works_once_and_its_reuse_revokes_the_family()
    {
        await _server.AddUserAsync("rita", "rita-password");
        var (_, first) = await LoginAsync("rita", "rita-password");
        Assert.StartsWith("sxr_", first, StringComparison.Ordinal);

        var renewed = await RestClient.ExpectAsync(await RefreshAsync(first), HttpStatusCode.OK);
        var second = renewed.GetProperty("refreshToken").GetString()!;
        Assert.NotEqual(first, second);
        using (var me = new RestClient(_server, renewed.GetProperty("accessToken").GetString()))
        {
            await RestClient.ExpectAsync(await me.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        }

        // The first token again: a copy is in use somewhere. Both it and its successor die.
        await RestClient.ExpectAsync(await RefreshAsync(first), HttpStatusCode.Unauthorized);
        await RestClient.ExpectAsync(await RefreshAsync(second), HttpStatusCode.Unauthorized);

        // A different login is a different family and still works.
        var (_, other) = await LoginAsync("rita", "rita-password");
        await RestClient.ExpectAsync(await RefreshAsync(other), HttpStatusCode.OK);

        foreach (var junk in new[] { "", "sxr_", "sxr_zz.zz", first + "x", "eyJhbGciOiJub25lIn0.e30." })
        {
            await RestClient.ExpectAsync(await RefreshAsync(junk), HttpStatusCode.Unauthorized);
        }

        Assert.Equal(0L, _server.Scalar($"SELECT count(*) FROM refresh_tokens WHERE secret_hash LIKE '%{first[(first.IndexOf('.') + 1)..]}%'"));
    }

    [Fact]
    public async Task A_password_change_ends_refresh_tokens_too()
    {
        await _server.AddUserAsync("sam", "sam-password-1");
        var (access, refresh) = await LoginAsync("sam", "sam-password-1");
        using var sam = new RestClient(_server, access);
        await RestClient.ExpectAsync(await sam.PostAsync("/api/v1/me/password", new { currentPassword = "sam-password-1", newPassword = "sam-password-2" }), HttpStatusCode.NoContent);
        await RestClient.ExpectAsync(await RefreshAsync(refresh), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Logout_ends_the_access_token_its_refresh_family_and_its_SXP_session_but_not_other_logins()
    {
        await _server.AddUserAsync("tom", "tom-password");
        var (access, refresh) = await LoginAsync("tom", "tom-password");
        var (otherAccess, _) = await LoginAsync("tom", "tom-password");
        await using var sxp = new SxpClient(_server.Endpoint, access);
        await sxp.ListAsync("/", CancellationToken.None);

        using var tom = new RestClient(_server, access);
        await RestClient.ExpectAsync(await tom.PostAsync("/api/v1/auth/logout", new { refreshToken = refresh }), HttpStatusCode.NoContent);

        await RestClient.ExpectAsync(await tom.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        await RestClient.ExpectAsync(await RefreshAsync(refresh), HttpStatusCode.Unauthorized);
        using (var other = new RestClient(_server, otherAccess))
        {
            await RestClient.ExpectAsync(await other.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        }

        await Task.Delay(800);
        var refused = await Assert.ThrowsAsync<SxpException>(() => sxp.ListAsync("/", CancellationToken.None));
        Assert.Equal(ErrorCode.AuthFailed, refused.Code);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var again = new SxpClient(_server.Endpoint, access);
            await again.ListAsync("/", CancellationToken.None);
        });
    }

    [Fact]
    public async Task A_password_change_revokes_the_users_API_keys()
    {
        await _server.AddUserAsync("wil", "wil-password-1");
        using var wil = new RestClient(_server, (await LoginAsync("wil", "wil-password-1")).Access);
        var key = (await RestClient.ExpectAsync(await wil.PostAsync("/api/v1/keys", new { name = "made with a session" }), HttpStatusCode.Created)).GetProperty("key").GetString()!;
        using (var byKey = new RestClient(_server, key))
        {
            await RestClient.ExpectAsync(await byKey.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        }

        await RestClient.ExpectAsync(await wil.PostAsync("/api/v1/me/password", new { currentPassword = "wil-password-1", newPassword = "wil-password-2" }), HttpStatusCode.NoContent);
        using var after = new RestClient(_server, key);
        await RestClient.ExpectAsync(await after.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_API_key_is_shown_once_works_on_REST_and_SXP_and_stops_when_revoked()
    {
        await _server.AddUserAsync("una", "una-password");
        await _server.AddUserAsync("val", "val-password");
        using var una = new RestClient(_server, (await LoginAsync("una", "una-password")).Access);
        using var val = new RestClient(_server, (await LoginAsync("val", "val-password")).Access);

        var created = await RestClient.ExpectAsync(await una.PostAsync("/api/v1/keys", new { name = "backup job" }), HttpStatusCode.Created);
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("sxk_", key, StringComparison.Ordinal);

        var listed = await RestClient.ExpectAsync(await una.GetAsync("/api/v1/keys"), HttpStatusCode.OK);
        var item = Assert.Single(listed.GetProperty("items").EnumerateArray());
        Assert.Equal("backup job", item.GetProperty("name").GetString());
        Assert.DoesNotContain(key[(key.IndexOf('.') + 1)..], listed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(0L, _server.Scalar($"SELECT count(*) FROM api_keys WHERE secret_hash = '{key[(key.IndexOf('.') + 1)..]}'"));

        using (var byKey = new RestClient(_server, key))
        {
            var me = await RestClient.ExpectAsync(await byKey.GetAsync("/api/v1/me"), HttpStatusCode.OK);
            Assert.Equal("una", me.GetProperty("username").GetString());
            await RestClient.ExpectAsync(await byKey.GetAsync("/api/v1/users"), HttpStatusCode.Forbidden);
        }

        await using (var sxp = new SxpClient(_server.Endpoint, key))
        {
            await sxp.MkdirAsync("/by-key", CancellationToken.None);
            Assert.Equal(EntryType.Dir, (await sxp.StatAsync("/by-key", CancellationToken.None)).Type);
        }

        // A key cannot mint keys: those would outlive it.
        using (var byKey = new RestClient(_server, key))
        {
            await RestClient.ExpectAsync(await byKey.PostAsync("/api/v1/keys", new { name = "child" }), HttpStatusCode.Forbidden);
        }

        // Another user cannot see or revoke it.
        await RestClient.ExpectAsync(await val.DeleteAsync($"/api/v1/keys/{id}"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await una.DeleteAsync($"/api/v1/keys/{id}"), HttpStatusCode.NoContent);

        using (var revoked = new RestClient(_server, key))
        {
            await RestClient.ExpectAsync(await revoked.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        }

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var sxp = new SxpClient(_server.Endpoint, key);
            await sxp.ListAsync("/", CancellationToken.None);
        });

        foreach (var forged in new[] { key[..^1] + (key[^1] == 'A' ? "B" : "A"), "sxk_" + new string('0', 24) + ".x", "sxk_nothing" })
        {
            using var bad = new RestClient(_server, forged);
            await RestClient.ExpectAsync(await bad.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        }
    }
}
