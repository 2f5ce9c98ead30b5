using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;
using SecureXfer.Tests.Transfers;

namespace SecureXfer.Tests.Security;

/// <summary>
/// Object- and field-level authorization for every operation in the OpenAPI document, so a new
/// endpoint is covered the day it is added. Alice owns one of everything (a file, an upload in
/// progress, a remote, a job, an API key). For each operation: anonymously it must answer 401
/// (unless it is on the short public list); as Mallory, a plain user, an operation aimed at one
/// of Alice's objects must answer 403 or 404, and no answer may carry anything of Alice's. Bodies
/// are generated from the operation's schema and salted with owner, id and role fields. The same
/// call with a made-up id of the same shape must get the same answer, so nothing tells Mallory
/// which ids exist. At the end Alice's rows and files are exactly as before, and Mallory is
/// still a plain user.
/// </summary>
public sealed class AuthorizationMatrixTests : IAsyncLifetime
{
    private static readonly HashSet<string> Public = new(StringComparer.Ordinal)
    {
        "POST /api/v1/auth/login", "POST /api/v1/auth/refresh", "GET /health", "GET /health/live", "GET /metrics", "GET /api/v1/server",
    };

    private ServerProcess _server = null!;
    private long _aliceId;
    private long _malloryId;
    private readonly Dictionary<string, string> _alices = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__RemoteAllowedNetworks"] = "127.0.0.0/8" });
        _aliceId = await _server.AddUserAsync("alice-owner", "alice-password-1");
        _malloryId = await _server.AddUserAsync("mallory", "mallory-password-1");
        using var alice = await RestClient.AsAsync(_server, "alice-owner", "alice-password-1");

        await RestClient.ExpectAsync(await alice.SendAsync(HttpMethod.Put, "/api/v1/files/content?path=/alice-secret.txt", new ByteArrayContent("alice's secret"u8.ToArray())), HttpStatusCode.Created);
        _alices["remote"] = (await RestClient.ExpectAsync(await alice.PostAsync("/api/v1/remotes", new { name = "alice-remote", kind = "sftp", host = "127.0.0.1", port = 2222, user = "alice-remote-user", password = "alice-remote-password" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;
        _alices["job"] = (await RestClient.ExpectAsync(await alice.PostAsync("/api/v1/jobs", new { name = "alice-job", remoteId = _alices["remote"], remotePath = "/in", localPath = "/alice-jobs", direction = "pull", cron = "0 3 * * *" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;
        _alices["key"] = (await RestClient.ExpectAsync(await alice.PostAsync("/api/v1/keys", new { name = "alice-key" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        // An upload in progress: opened over SXP with one chunk sent, then the connection dropped.
        using var local = new TempDir("sx-authz");
        var source = local.Combine("big.bin");
        TestFiles.WriteRandom(source, 8L << 20);
        await using (var client = await _server.ConnectAsync("alice-owner", "alice-password-1"))
        {
            using var stop = new CancellationTokenSource();
            var progress = new SyncProgress(bytes => { if (bytes > 0) { stop.Cancel(); } });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.UploadAsync(source, "/alice-upload.bin", new TransferOptions { ChunkSize = 1 << 20, RateLimit = 2L << 20 }, progress, stop.Token));
        }

        var uploads = await RestClient.ExpectAsync(await alice.GetAsync("/api/v1/uploads"), HttpStatusCode.OK);
        _alices["upload"] = uploads.GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString()!;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Every_operation_refuses_strangers_and_never_shows_or_changes_another_users_objects()
    {
        using var http = _server.CreateHttpClient();
        var document = JsonNode.Parse(await http.GetStringAsync("/swagger/v1/swagger.json"))!;
        var operations = Operations(document).ToList();
        Assert.True(operations.Count >= 40, $"only {operations.Count} operations in the document");

        var before = Snapshot();
        var malloryBefore = Dump($"SELECT role, disabled, quota_bytes FROM users WHERE id = {_malloryId}");
        var usersBefore = _server.Scalar("SELECT count(*) FROM users");
        using var anonymous = new RestClient(_server);
        using var mallory = await RestClient.AsAsync(_server, "mallory", "mallory-password-1");
        var problems = new List<string>();

        // Logout last: it ends Mallory's token, and every other call should be made with it live.
        foreach (var op in operations.OrderBy(o => o.Path.EndsWith("/logout", StringComparison.Ordinal)))
        {
            var (url, targeted) = Fill(op);
            if (!Public.Contains(op.Key))
            {
                using var anon = await anonymous.SendAsync(op.Method, url, Body(op, document));
                if (anon.StatusCode != HttpStatusCode.Unauthorized)
                {
                    problems.Add($"{op.Key}: anonymous got {(int)anon.StatusCode}, not 401");
                }
            }

            string? made = null;
            if (targeted)
            {
                var (fakeUrl, _) = Fill(op, madeUp: true);
                using var fake = await mallory.SendAsync(op.Method, fakeUrl, Body(op, document));
                made = $"{(int)fake.StatusCode} {Normalise(await fake.Content.ReadAsStringAsync(), fakeUrl)}";
            }

            using var response = await mallory.SendAsync(op.Method, url, Body(op, document));
            var text = await response.Content.ReadAsStringAsync();
            if (made is not null && made != $"{(int)response.StatusCode} {Normalise(text, url)}")
            {
                problems.Add($"{op.Key}: Alice's object and a made-up one get different answers:\n  {made}\n  {(int)response.StatusCode} {Normalise(text, url)}");
            }

            // Echoing the id Mallory sent is no disclosure; anything else of Alice's is.
            text = Normalise(text, url);
            if ((int)response.StatusCode >= 500)
            {
                problems.Add($"{op.Key}: Mallory got {(int)response.StatusCode}");
            }

            if (targeted && response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.NotFound))
            {
                problems.Add($"{op.Key} on Alice's object: Mallory got {(int)response.StatusCode}, not 403 or 404");
            }

            foreach (var marker in Markers().Where(m => text.Contains(m, StringComparison.Ordinal)))
            {
                problems.Add($"{op.Key}: Mallory's answer shows '{marker}'");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.Equal(before, Snapshot());
        Assert.Equal(malloryBefore, Dump($"SELECT role, disabled, quota_bytes FROM users WHERE id = {_malloryId}"));
        Assert.Equal(usersBefore, _server.Scalar("SELECT count(*) FROM users"));
    }

    private sealed record Operation(HttpMethod Method, string Path, JsonNode Node)
    {
        public string Key => $"{Method.Method} {Path}";
    }

    private static IEnumerable<Operation> Operations(JsonNode document)
    {
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, node) in item!.AsObject())
            {
                yield return new Operation(new HttpMethod(method.ToUpperInvariant()), path, node!);
            }
        }
    }

    private IEnumerable<string> Markers() =>
        ["alice-owner", "alice-secret", "alice-remote", "alice-job", "alice-key", "alice-upload", "alice's secret", .. _alices.Values];

    /// <summary>An answer with the ids taken from the URL, and the per-request trace id, blanked out.</summary>
    private static string Normalise(string text, string url)
    {
        foreach (var segment in url.Split('?')[0].Split('/').Where(s => s.Length > 0))
        {
            text = text.Replace(Uri.UnescapeDataString(segment), "{param}", StringComparison.Ordinal);
        }

        return System.Text.RegularExpressions.Regex.Replace(text, "\"traceId\":\"[^\"]*\"", "\"traceId\":\"\"");
    }

    /// <summary>
    /// The URL with every path parameter pointing at one of Alice's objects (or, made up, at an id
    /// of the same shape that does not exist), and whether it had any.
    /// </summary>
    private (string Url, bool Targeted) Fill(Operation op, bool madeUp = false)
    {
        var url = op.Path;
        var targeted = false;
        foreach (var parameter in op.Node["parameters"]?.AsArray() ?? [])
        {
            var name = parameter!["name"]!.GetValue<string>();
            var where = parameter["in"]!.GetValue<string>();
            if (where == "path")
            {
                var value = (op.Path, name) switch
                {
                    (var p, "id") when p.StartsWith("/api/v1/users", StringComparison.Ordinal) => _aliceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    (var p, "id") when p.StartsWith("/api/v1/remotes", StringComparison.Ordinal) => _alices["remote"],
                    (var p, "id") when p.StartsWith("/api/v1/jobs", StringComparison.Ordinal) => _alices["job"],
                    (var p, "id") when p.StartsWith("/api/v1/keys", StringComparison.Ordinal) => _alices["key"],
                    (var p, "id") when p.StartsWith("/api/v1/uploads", StringComparison.Ordinal) => _alices["upload"],
                    (_, "kind") => "account",
                    (_, "subject") => "alice-owner",
                    _ => throw new InvalidOperationException($"{op.Key}: no object of Alice's for path parameter '{name}'; add one to this test."),
                };
                if (madeUp)
                {
                    value = name == "kind" ? value
                        : long.TryParse(value, out _) ? "987654"
                        : value[..^Math.Min(6, value.Length)] + "000000";
                }

                url = url.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
                targeted = true;
            }
            else if (where == "query")
            {
                var value = name == "path" ? "/nothing-here.txt" : Dummy(parameter["schema"], name)?.ToJsonString().Trim('"') ?? "1";
                url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + name + "=" + Uri.EscapeDataString(value);
            }
        }

        return (url, targeted);
    }

    /// <summary>A body the operation's schema allows, salted with fields a mass assignment would abuse.</summary>
    private HttpContent? Body(Operation op, JsonNode document)
    {
        var content = op.Node["requestBody"]?["content"]?.AsObject();
        if (content is null)
        {
            return null;
        }

        if (!content.ContainsKey("application/json"))
        {
            return new ByteArrayContent("mallory's bytes"u8.ToArray());
        }

        var schema = Resolve(content["application/json"]!["schema"], document);
        var body = Dummy(schema, "body", document) as JsonObject ?? [];
        body["ownerId"] = _aliceId;
        body["userId"] = _aliceId;
        body["role"] = "admin";
        body["remoteId"] ??= _alices["remote"];
        return new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
    }

    private static JsonNode? Resolve(JsonNode? schema, JsonNode document) =>
        schema?["$ref"]?.GetValue<string>() is { } reference
            ? document["components"]!["schemas"]![reference.Split('/')[^1]]
            : schema;

    private static JsonNode? Dummy(JsonNode? schema, string name, JsonNode? document = null)
    {
        schema = document is null ? schema : Resolve(schema, document);
        var type = schema?["type"] is JsonArray types ? types.Select(t => t!.GetValue<string>()).FirstOrDefault(t => t != "null") : schema?["type"]?.GetValue<string>();
        return type switch
        {
            "integer" or "number" => 1,
            "boolean" => true,
            "array" => new JsonArray(),
            "object" or null when schema?["properties"] is JsonObject properties => new JsonObject(properties.Select(p =>
                KeyValuePair.Create(p.Key, Dummy(p.Value, p.Key, document)))),
            "string" when name.Contains("path", StringComparison.OrdinalIgnoreCase) || name is "from" or "to" => "/mallory-" + name,
            "string" when schema?["format"]?.GetValue<string>() == "date-time" => "2030-01-01T00:00:00Z",
            _ => "mallory-" + name,
        };
    }

    /// <summary>Everything of Alice's: her rows in every table that has an owner, and her files with their hashes.</summary>
    private string Snapshot()
    {
        var root = _server.UserRoot(_aliceId);
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => f + " " + TestFiles.Sha256(f));
        return string.Join('\n', new[]
        {
            Dump($"SELECT * FROM users WHERE id = {_aliceId}"),
            Dump($"SELECT * FROM files WHERE owner_id = {_aliceId}"),
            Dump($"SELECT * FROM upload_sessions WHERE owner_id = {_aliceId}"),
            Dump($"SELECT * FROM remotes WHERE owner_id = {_aliceId}"),
            Dump($"SELECT * FROM jobs WHERE owner_id = {_aliceId}"),
            Dump($"SELECT * FROM api_keys WHERE user_id = {_aliceId}"),
            Dump($"SELECT * FROM refresh_tokens WHERE user_id = {_aliceId} ORDER BY id"),
            Dump("SELECT * FROM login_bans WHERE subject = 'alice-owner'"),
        }.Concat(files));
    }

    private string Dump(string sql)
    {
        using var connection = _server.OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new StringBuilder();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                rows.Append(reader.GetName(i)).Append('=').Append(reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append(';');
            }

            rows.Append('\n');
        }

        return sql + "\n" + rows;
    }
}
