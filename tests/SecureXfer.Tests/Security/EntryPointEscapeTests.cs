using System.Net;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// Path escapes in many encodings through every entry point that takes a path: each REST file
/// operation (query and body), and the SXP operations not covered by <see cref="PathEscapeTests"/>
/// (PUT, set-modified, move from). Whatever the answer, nothing outside the attacker's root is
/// read, created or changed: a victim's file keeps its bytes, no answer carries them, and no
/// file appears anywhere else in the data directory or the file system root.
/// </summary>
public sealed class EntryPointEscapeTests : IAsyncLifetime
{
    private const string VictimSecret = "victim-secret-bytes";

    private ServerProcess _server = null!;
    private long _attacker;
    private long _victim;
    private readonly TempDir _local = new("sx-escape");

    /// <summary>Raw query-string forms (sent as they are) and their plain forms (for bodies and SXP).</summary>
    public static readonly string[] Encoded =
    [
        "..%2f..%2fvictim.txt", "%2e%2e/%2e%2e/x", "%2E%2E%2F%2E%2E%2Fx", "..%5c..%5cx", "%2e%2e%5c%2e%2e%5cx", "..%00/x", "x%00.txt",
        "%c0%ae%c0%ae/%c0%ae%c0%ae/x", "%e0%80%ae%e0%80%ae/x", "..%252f..%252fx", "%uff0e%uff0e/x", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ];

    public static readonly string[] Plain =
    [
        "..", "../x", "../../victim.txt", "/../../etc/passwd", "a/../../x", "..\\..\\x", "/a\\..\\..\\x", "x\0.txt", "..\0/x",
        "\uFF0E\uFF0E/\uFF0E\uFF0E/x", "\u2025/x", ".\u0301./x", "/\u202E../x", "/x\n../y", "//../x", "/./../x", "~/../x",
    ];

    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync();
        _attacker = await _server.AddUserAsync("attacker", "attacker-password");
        _victim = await _server.AddUserAsync("victim", "victim-password");
        using var victim = await RestClient.AsAsync(_server, "victim", "victim-password");
        await RestClient.ExpectAsync(await victim.SendAsync(HttpMethod.Put, "/api/v1/files/content?path=/victim.txt", new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(VictimSecret))), HttpStatusCode.Created);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _local.Dispose();
    }

    /// <summary>Every file in the data directory outside the attacker's root, with its content hash.</summary>
    private string Outside()
    {
        var attackerRoot = _server.UserRoot(_attacker) + "/";
        var files = Directory.EnumerateFiles(Path.Combine(_server.DataDir, "files"), "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(attackerRoot, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => f + " " + TestFiles.Sha256(f));
        return string.Join('\n', files);
    }

    private static void AssertRefusedOrInside(HttpResponseMessage response, string body, string what)
    {
        Assert.True((int)response.StatusCode < 500, $"{what}: {(int)response.StatusCode} {body}");
        Assert.DoesNotContain(VictimSecret, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_REST_file_operation_stays_inside_the_callers_root_whatever_the_encoding()
    {
        var before = Outside();
        using var rest = await RestClient.AsAsync(_server, "attacker", "attacker-password");
        var queries = Encoded.Concat(Plain.Select(Uri.EscapeDataString)).ToList();
        foreach (var raw in queries)
        {
            foreach (var (method, url) in new[]
            {
                (HttpMethod.Get, "/api/v1/files?path="), (HttpMethod.Get, "/api/v1/files/stat?path="), (HttpMethod.Get, "/api/v1/files/content?path="),
                (HttpMethod.Put, "/api/v1/files/content?path="), (HttpMethod.Delete, "/api/v1/files?recursive=true&path="),
            })
            {
                using var response = await rest.SendAsync(method, url + raw, method == HttpMethod.Put ? new ByteArrayContent("attacker"u8.ToArray()) : null);
                AssertRefusedOrInside(response, await response.Content.ReadAsStringAsync(), $"{method} {url}{raw}");
            }
        }

        foreach (var plain in Plain.Concat(Encoded.Select(Uri.UnescapeDataString)))
        {
            foreach (var (url, body) in new (string, object)[]
            {
                ("/api/v1/files/mkdir", new { path = plain }),
                ("/api/v1/files/move", new { from = "/nothing", to = plain, overwrite = true }),
                ("/api/v1/files/move", new { from = plain, to = "/moved-here", overwrite = true }),
            })
            {
                using var response = await rest.PostAsync(url, body);
                AssertRefusedOrInside(response, await response.Content.ReadAsStringAsync(), $"POST {url} {plain}");
            }
        }

        Assert.Equal(before, Outside());
        Assert.False(File.Exists("/x") || File.Exists("/victim.txt") || File.Exists(Path.Combine(_server.DataDir, "x")));
        Assert.Equal(VictimSecret, await File.ReadAllTextAsync(Path.Combine(_server.UserRoot(_victim), "victim.txt")));
    }

    [Fact]
    public async Task PUT_set_modified_and_move_from_over_SXP_refuse_every_escape()
    {
        var before = Outside();
        await using var client = await _server.ConnectAsync("attacker", "attacker-password");
        var source = _local.Combine("payload");
        await File.WriteAllTextAsync(source, "payload");
        foreach (var path in Plain.Concat(Encoded.Select(Uri.UnescapeDataString)))
        {
            await AssertRefusedOrInsideAsync(() => client.PutAsync(source, path, OverwritePolicy.Replace, CancellationToken.None));
            await AssertRefusedOrInsideAsync(() => client.SetModifiedAsync(path, DateTimeOffset.UnixEpoch, CancellationToken.None));
            await AssertRefusedOrInsideAsync(() => client.MoveAsync(path, "/moved-here", true, CancellationToken.None));
            await AssertRefusedOrInsideAsync(() => client.StatAsync(path, CancellationToken.None));
        }

        Assert.Equal(before, Outside());
        Assert.Equal(VictimSecret, await File.ReadAllTextAsync(Path.Combine(_server.UserRoot(_victim), "victim.txt")));
    }

    /// <summary>A refusal is any typed error but an internal one; a success must have stayed inside the root (checked after).</summary>
    private static async Task AssertRefusedOrInsideAsync(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (SxpException ex)
        {
            Assert.NotEqual(ErrorCode.Internal, ex.Code);
        }
    }
}
