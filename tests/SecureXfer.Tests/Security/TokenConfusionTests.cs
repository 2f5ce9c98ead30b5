using System.Net;
using System.Net.Http.Json;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Rest;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>Each kind of credential works only where it belongs: a refresh token is no access token, an access token or API key is no refresh token.</summary>
public sealed class TokenConfusionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess _server = fixture.Server;

    [Fact]
    public async Task Credentials_used_as_another_kind_are_refused_on_REST_and_SXP()
    {
        using var response = await _server.PostLoginAsync("admin", ServerProcess.AdminPassword);
        var login = (await response.Content.ReadFromJsonAsync<LoginResponse>())!;
        using var admin = new RestClient(_server, login.AccessToken);
        var key = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/keys", new CreateKeyRequest("confusion", null)), HttpStatusCode.Created)).GetProperty("key").GetString()!;

        // A refresh token as a bearer token, on REST and on SXP.
        using (var asBearer = new RestClient(_server, login.RefreshToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await asBearer.GetAsync("/api/v1/me")).StatusCode);
        }

        await using (var client = new SxpClient(_server.Endpoint, login.RefreshToken!))
        {
            Assert.Equal(ErrorCode.AuthFailed, (await Assert.ThrowsAsync<SxpException>(() => client.ListAsync("/", CancellationToken.None))).Code);
        }

        // An access token or an API key offered as a refresh token.
        using var http = _server.CreateHttpClient();
        foreach (var wrong in new[] { login.AccessToken, key })
        {
            using var refresh = await http.PostAsJsonAsync("/api/v1/auth/refresh", new RefreshRequest(wrong));
            Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        }

        // The real refresh token still works once, and the access token and key still do their jobs.
        using (var refresh = await http.PostAsJsonAsync("/api/v1/auth/refresh", new RefreshRequest(login.RefreshToken!)))
        {
            Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        }

        using var withKey = new RestClient(_server, key);
        Assert.Equal(HttpStatusCode.OK, (await withKey.GetAsync("/api/v1/me")).StatusCode);
    }
}
