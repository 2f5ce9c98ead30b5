using System.Net;
using System.Text.Json;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Hosting;

/// <summary>
/// Console logs: one line per event with the connection, request and transfer ids of its scope,
/// as text by default and as JSON objects with --log-format json; secrets never in them.
/// </summary>
public sealed class LoggingTests : IDisposable
{
    private const string Password = "a-password-that-must-not-be-logged";
    private readonly TempDir _work = new("sx-logs");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Text_lines_carry_the_request_id_sent_back_to_the_client_and_the_transfer_id_of_an_upload()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = server.CreateHttpClient();
        using var response = await http.GetAsync("/api/v1/server");
        var requestId = Assert.Single(response.Headers.GetValues("X-Request-Id"));
        var line = await WaitForLineAsync(server, l => l.Contains("GET /api/v1/server answered 200", StringComparison.Ordinal));
        Assert.Contains("RequestId:" + requestId, line, StringComparison.Ordinal);
        Assert.Contains("ConnectionId:", line, StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: SecureXfer\.Http", line);

        var uploadId = await UploadAsync(server);
        var committed = await WaitForLineAsync(server, l => l.Contains($"Upload {uploadId} committed", StringComparison.Ordinal));
        Assert.Contains("TransferId:" + uploadId, committed, StringComparison.Ordinal);
        Assert.Contains("UserId:1", committed, StringComparison.Ordinal);
        Assert.Contains("ConnectionId:", committed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_logs_are_one_object_per_line_with_ids_in_their_scopes_and_no_secrets()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__LogFormat"] = "json" });
        var userId = await server.AddUserAsync("logged", Password);
        var loginJson = await RestClient.ExpectAsync(await server.PostLoginAsync("logged", Password), HttpStatusCode.OK);
        var token = loginJson.GetProperty("accessToken").GetString()!;
        var refresh = loginJson.GetProperty("refreshToken").GetString()!;
        using var rest = new RestClient(server, token);
        var key = (await RestClient.ExpectAsync(await rest.PostAsync("/api/v1/keys", new { name = "logged" }), HttpStatusCode.Created)).GetProperty("key").GetString()!;
        using var anonymous = new RestClient(server);
        var refreshed = await RestClient.ExpectAsync(await anonymous.PostAsync("/api/v1/auth/refresh", new { refreshToken = refresh }), HttpStatusCode.OK);
        using var wrong = await server.PostLoginAsync("logged", Password + "-wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var uploadId = await UploadAsync(server, "logged", Password);

        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(events, e =>
        {
            Assert.True(e.TryGetProperty("Timestamp", out _));
            Assert.True(e.TryGetProperty("LogLevel", out _));
            Assert.True(e.TryGetProperty("Message", out _));
        });
        Assert.Contains(events, e => e.GetProperty("Message").GetString()!.StartsWith("listening https=", StringComparison.Ordinal));

        var request = events.First(e => e.GetProperty("Category").GetString() == "SecureXfer.Http" && e.GetProperty("Message").GetString()!.Contains("/api/v1/keys", StringComparison.Ordinal));
        Assert.Contains(Scopes(request), s => s.TryGetProperty("RequestId", out _));
        Assert.Equal(userId.ToString(System.Globalization.CultureInfo.InvariantCulture), request.GetProperty("State").GetProperty("UserId").GetString());

        var commit = events.Single(e => e.GetProperty("Message").GetString()!.Contains($"Upload {uploadId} committed", StringComparison.Ordinal));
        Assert.Contains(Scopes(commit), s => s.TryGetProperty("TransferId", out var id) && id.GetString() == uploadId);
        Assert.Contains(Scopes(commit), s => s.TryGetProperty("ConnectionId", out _));

        foreach (var secret in new[] { Password, token, refresh, key, refreshed.GetProperty("accessToken").GetString()!, refreshed.GetProperty("refreshToken").GetString()!, ServerProcess.AdminPassword })
        {
            Assert.DoesNotContain(secret, server.Output, StringComparison.Ordinal);
        }
    }

    private static IEnumerable<JsonElement> Scopes(JsonElement logEvent) =>
        logEvent.TryGetProperty("Scopes", out var scopes) ? scopes.EnumerateArray() : [];

    private async Task<string> UploadAsync(ServerProcess server, string user = "admin", string password = ServerProcess.AdminPassword)
    {
        var local = _work.Combine(Guid.NewGuid().ToString("N"));
        TestFiles.WriteRandom(local, 3 << 20);
        await using var client = await server.ConnectAsync(user, password);
        await client.UploadAsync(local, "/logged.bin", new TransferOptions { ChunkSize = 1 << 20 }, null, CancellationToken.None);
        // The upload id as the server logged it when the upload opened.
        var opened = await WaitForLineAsync(server, l => l.Contains("Upload ", StringComparison.Ordinal) && l.Contains(" opened by user", StringComparison.Ordinal));
        var match = System.Text.RegularExpressions.Regex.Match(opened, @"Upload (\S+) opened");
        return match.Groups[1].Value;
    }

    private static async Task<string> WaitForLineAsync(ServerProcess server, Func<string, bool> match)
    {
        for (var i = 0; i < 100; i++)
        {
            var line = server.Output.Split('\n').LastOrDefault(match);
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException("no such log line in:\n" + server.Tail(40));
    }
}
