using System.Net;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>Create operations honour Idempotency-Key: a retried request creates nothing twice.</summary>
public sealed class IdempotencyTests : AdminRestTests
{
    private Task<HttpResponseMessage> PostAsync(string path, object body, string key) =>
        Admin.SendAsync(HttpMethod.Post, path, body, r => r.Headers.Add("Idempotency-Key", key));

    [Fact]
    public async Task A_retried_user_creation_replays_the_first_answer_and_a_different_body_is_refused()
    {
        var body = new { username = "ida", password = "ida-password-1" };
        using var first = await PostAsync("/api/v1/users", body, "create-ida-1");
        var created = await RestClient.ExpectAsync(first, HttpStatusCode.Created);

        using var again = await PostAsync("/api/v1/users", body, "create-ida-1");
        var replayed = await RestClient.ExpectAsync(again, HttpStatusCode.Created);
        Assert.Equal(created.GetProperty("id").GetInt64(), replayed.GetProperty("id").GetInt64());
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Headers.Location, again.Headers.Location);
        Assert.Equal(1L, Server.Scalar("SELECT count(*) FROM users WHERE username = 'ida'"));

        await RestClient.ExpectAsync(await PostAsync("/api/v1/users", new { username = "ida", password = "other-password-2" }, "create-ida-1"), HttpStatusCode.UnprocessableEntity);

        // Without the key, the same request is a new one: the name is taken.
        await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/users", body), HttpStatusCode.Conflict);

        // The stored request is a MAC, never the password.
        Assert.Equal(0L, Server.Scalar("SELECT count(*) FROM idempotency_keys WHERE body LIKE '%ida-password-1%' OR request_mac LIKE '%ida-password-1%'"));
    }

    [Fact]
    public async Task Simultaneous_requests_with_one_key_create_one_object()
    {
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostAsync("/api/v1/keys", new { name = "racing" }, "race-1")));
        try
        {
            Assert.All(attempts, a => Assert.True(a.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, a.StatusCode.ToString()));
            Assert.Contains(attempts, a => a.StatusCode == HttpStatusCode.Created);
            Assert.Equal(1L, Server.Scalar("SELECT count(*) FROM api_keys WHERE name = 'racing'"));
        }
        finally
        {
            foreach (var attempt in attempts)
            {
                attempt.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_retried_key_creation_makes_one_key_and_never_shows_its_secret_again()
    {
        using var first = await PostAsync("/api/v1/keys", new { name = "retry" }, "key-1");
        var created = await RestClient.ExpectAsync(first, HttpStatusCode.Created);
        Assert.StartsWith("sxk_", created.GetProperty("key").GetString(), StringComparison.Ordinal);

        using var again = await PostAsync("/api/v1/keys", new { name = "retry" }, "key-1");
        var replayed = await RestClient.ExpectAsync(again, HttpStatusCode.Created);
        Assert.Equal(created.GetProperty("id").GetString(), replayed.GetProperty("id").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, replayed.GetProperty("key").ValueKind);
        Assert.Equal(1L, Server.Scalar("SELECT count(*) FROM api_keys WHERE name = 'retry'"));
    }
}
