using System.Net;
using System.Net.Http.Headers;
using System.Text;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>What every HTTP answer carries, and what none does: security headers, no CORS, no server banner, no stack traces.</summary>
public sealed class HttpHygieneTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Theory]
    [InlineData("/api/v1/server", HttpStatusCode.OK)]
    [InlineData("/api/v1/users", HttpStatusCode.Unauthorized)]
    [InlineData("/api/v1/nothing-here", HttpStatusCode.NotFound)]
    [InlineData("/health", HttpStatusCode.OK)]
    public async Task Api_answers_carry_the_security_headers_and_no_banner(string path, HttpStatusCode status)
    {
        using var http = Server.CreateHttpClient();
        using var response = await http.GetAsync(path);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Single(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Single(response, "Referrer-Policy"));
        Assert.StartsWith("max-age=", Single(response, "Strict-Transport-Security"), StringComparison.Ordinal);
        Assert.StartsWith("default-src 'none'", Single(response, "Content-Security-Policy"), StringComparison.Ordinal);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString() ?? string.Empty, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Server"), "The server names no software.");
        Assert.False(response.Headers.Contains("X-Powered-By"));
    }

    [Fact]
    public async Task Swagger_ui_gets_a_policy_that_lets_it_run_from_its_own_origin_only()
    {
        using var http = Server.CreateHttpClient();
        using var response = await http.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = Single(response, "Content-Security-Policy");
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_origins_get_no_cors_grant_neither_on_preflight_nor_on_requests()
    {
        using var http = Server.CreateHttpClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/users");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var answer = await http.SendAsync(preflight);
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Credentials"));

        using var login = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/login")
        {
            Content = new StringContent($"{{\"username\":\"admin\",\"password\":\"{ServerProcess.AdminPassword}\"}}", Encoding.UTF8, "application/json"),
        };
        login.Headers.Add("Origin", "https://evil.example");
        using var loggedIn = await http.SendAsync(login);
        Assert.False(loggedIn.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("{\"username\":")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"username\":\"a\",\"password\":{\"$type\":\"System.IO.FileInfo\"}}")]
    public async Task Malformed_bodies_get_a_problem_without_internals(string body)
    {
        using var http = Server.CreateHttpClient();
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/api/v1/auth/login", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SecureXfer.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
    }

    private static string Single(HttpResponseMessage response, string name)
    {
        Assert.True(response.Headers.TryGetValues(name, out var values), $"No {name} header.");
        return Assert.Single(values);
    }
}
