using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>An HttpClient on the real server, optionally with a bearer token, plus the assertions the REST tests share.</summary>
public sealed class RestClient(ServerProcess server, string? token = null) : IDisposable
{
    private readonly HttpClient _http = server.CreateHttpClient();

    internal static async Task<RestClient> AsAsync(ServerProcess server, string username, string password) =>
        new(server, await server.LoginAsync(username, password));

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = body as HttpContent ?? JsonContent.Create(body);
        }

        configure?.Invoke(request);
        return _http.SendAsync(request);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<HttpResponseMessage> PostAsync(string path, object? body) => SendAsync(HttpMethod.Post, path, body);

    public Task<HttpResponseMessage> PatchAsync(string path, string json, string? ifMatch = null) =>
        SendAsync(HttpMethod.Patch, path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"), request =>
        {
            if (ifMatch is not null)
            {
                request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
            }
        });

    public Task<HttpResponseMessage> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    /// <summary>Asserts the status and, for errors, an RFC 9457 problem body; returns the parsed body.</summary>
    public static async Task<JsonElement> ExpectAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        if ((int)status >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A fresh server per test, with a REST client logged in as admin: the setup the REST test classes share.</summary>
public abstract class AdminRestTests : IAsyncLifetime
{
    protected ServerProcess Server { get; private set; } = null!;

    protected RestClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await ServerProcess.StartAsync();
        Admin = new RestClient(Server, await Server.LoginAsync());
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync();
    }
}
