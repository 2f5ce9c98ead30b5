using System.Net;
using System.Net.Http.Json;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Rest;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// Everything that revokes a credential also ends the SXP sessions opened with it, within the
/// account re-check interval (a second here): disabling, deleting, a password change by the user
/// or an admin, logout, and revoking an API key. A download already streaming is cut too.
/// </summary>
public sealed class SessionRevocationTests : IAsyncLifetime
{
    private ServerProcess _server = null!;
    private RestClient _admin = null!;
    private long _userId;

    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__AccountRecheckInterval"] = "00:00:01" });
        _admin = new RestClient(_server, await _server.LoginAsync());
        _userId = await _server.AddUserAsync("olivia", "olivia-password");
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<(SxpClient Client, LoginResponse Login)> OpenSessionAsync()
    {
        using var response = await _server.PostLoginAsync("olivia", "olivia-password");
        var login = (await response.Content.ReadFromJsonAsync<LoginResponse>())!;
        var client = new SxpClient(_server.Endpoint, login.AccessToken);
        await client.ListAsync("/", CancellationToken.None);
        return (client, login);
    }

    private static async Task AssertEndedAsync(SxpClient client)
    {
        await Task.Delay(1500);
        var error = await Assert.ThrowsAsync<SxpException>(() => client.ListAsync("/", CancellationToken.None));
        Assert.Equal(ErrorCode.AuthFailed, error.Code);
    }

    [Fact]
    public async Task Disabling_an_account_ends_its_open_SXP_sessions()
    {
        var (client, _) = await OpenSessionAsync();
        await using var _ = client;
        await RestClient.ExpectAsync(await _admin.PatchAsync($"/api/v1/users/{_userId}", "{\"disabled\":true}"), HttpStatusCode.OK);
        await AssertEndedAsync(client);
    }

    [Fact]
    public async Task Deleting_an_account_ends_its_open_SXP_sessions()
    {
        var (client, _) = await OpenSessionAsync();
        await using var _ = client;
        await RestClient.ExpectAsync(await _admin.DeleteAsync($"/api/v1/users/{_userId}"), HttpStatusCode.NoContent);
        await AssertEndedAsync(client);
    }

    [Fact]
    public async Task A_password_reset_by_an_admin_ends_the_users_open_SXP_sessions()
    {
        var (client, _) = await OpenSessionAsync();
        await using var _ = client;
        await RestClient.ExpectAsync(await _admin.PostAsync($"/api/v1/users/{_userId}/password", new ResetPasswordRequest("reset-by-the-admin")), HttpStatusCode.NoContent);
        await AssertEndedAsync(client);
    }

    [Fact]
    public async Task A_users_own_password_change_ends_their_other_open_SXP_sessions()
    {
        var (client, login) = await OpenSessionAsync();
        await using var _ = client;
        using var self = new RestClient(_server, login.AccessToken);
        await RestClient.ExpectAsync(await self.PostAsync("/api/v1/me/password", new ChangePasswordRequest("olivia-password", "olivia-new-password")), HttpStatusCode.NoContent);
        await AssertEndedAsync(client);
    }

    [Fact]
    public async Task Revoking_an_API_key_ends_the_SXP_sessions_opened_with_it()
    {
        var (_, login) = await OpenSessionAsync();
        using var self = new RestClient(_server, login.AccessToken);
        var key = await RestClient.ExpectAsync(await self.PostAsync("/api/v1/keys", new CreateKeyRequest("robot", null)), HttpStatusCode.Created);
        await using var client = new SxpClient(_server.Endpoint, key.GetProperty("key").GetString()!);
        await client.ListAsync("/", CancellationToken.None);
        await RestClient.ExpectAsync(await self.DeleteAsync($"/api/v1/keys/{key.GetProperty("id").GetString()}"), HttpStatusCode.NoContent);
        await AssertEndedAsync(client);
    }

    [Fact]
    public async Task A_download_that_is_streaming_when_the_account_is_disabled_is_cut_off()
    {
        using var local = new TempDir("sx-revoke");
        var source = local.Combine("big.bin");
        TestFiles.WriteRandom(source, 48L << 20);
        var (client, _) = await OpenSessionAsync();
        await using var _ = client;
        await client.UploadAsync(source, "/big.bin", new TransferOptions(), null, CancellationToken.None);

        // 8 MiB/s: the download needs six seconds, the account is disabled after one.
        var download = client.DownloadAsync("/big.bin", local.Combine("copy.bin"), new TransferOptions { RateLimit = 8L << 20 }, null, CancellationToken.None);
        await Task.Delay(1000);
        await RestClient.ExpectAsync(await _admin.PatchAsync($"/api/v1/users/{_userId}", "{\"disabled\":true}"), HttpStatusCode.OK);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => download);
        Assert.True(error is SxpException { Code: ErrorCode.AuthFailed } || error.InnerException is SxpException { Code: ErrorCode.AuthFailed }, error.ToString());
        Assert.False(File.Exists(local.Combine("copy.bin")));
    }
}
