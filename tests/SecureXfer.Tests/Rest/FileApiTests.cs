using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>The caller's files over HTTP: listing, stat, directories, moves, deletes, ranged downloads with digests, capped uploads.</summary>
public sealed class FileApiTests : IAsyncLifetime
{
    private const long Cap = 2L << 20;

    private ServerProcess _server = null!;
    private RestClient _user = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__HttpUploadMaxBytes"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await _server.AddUserAsync("una", "una-password");
        _user = await RestClient.AsAsync(_server, "una", "una-password");
    }

    public async Task DisposeAsync()
    {
        _user.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<string> UploadAsync(string path, byte[] bytes, bool overwrite = true, HttpStatusCode expect = HttpStatusCode.Created, string? digest = null)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _user.SendAsync(HttpMethod.Put, $"/api/v1/files/content?path={Uri.EscapeDataString(path)}&overwrite={(overwrite ? "true" : "false")}", content, request =>
        {
            // As upload clients do: the body follows only once the server has not refused the headers.
            request.Headers.ExpectContinue = true;
            if (digest is not null)
            {
                request.Headers.TryAddWithoutValidation("Repr-Digest", digest);
            }
        });
        var body = await RestClient.ExpectAsync(response, expect);
        return expect == HttpStatusCode.Created ? body.GetProperty("sha256").GetString()! : string.Empty;
    }

    [Fact]
    public async Task An_uploaded_file_downloads_whole_and_by_range_with_its_digest()
    {
        var bytes = RandomNumberGenerator.GetBytes(1_000_003);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal(sha, await UploadAsync("/docs/data.bin", bytes));

        using var whole = await _user.GetAsync("/api/v1/files/content?path=/docs/data.bin");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(bytes))}:", whole.Headers.GetValues("Repr-Digest").Single());

        using var ranged = await _user.SendAsync(HttpMethod.Get, "/api/v1/files/content?path=/docs/data.bin", configure: r => r.Headers.Range = new RangeHeaderValue(500_000, 500_099));
        Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal(bytes.AsSpan(500_000, 100).ToArray(), await ranged.Content.ReadAsByteArrayAsync());
        Assert.Equal("bytes 500000-500099/1000003", ranged.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole.Headers.GetValues("Repr-Digest").Single(), ranged.Headers.GetValues("Repr-Digest").Single());

        using var tail = await _user.SendAsync(HttpMethod.Get, "/api/v1/files/content?path=/docs/data.bin", configure: r => r.Headers.Range = new RangeHeaderValue(null, 3));
        Assert.Equal(bytes[^3..], await tail.Content.ReadAsByteArrayAsync());

        var stat = await RestClient.ExpectAsync(await _user.GetAsync("/api/v1/files/stat?path=/docs/data.bin"), HttpStatusCode.OK);
        Assert.Equal(sha, stat.GetProperty("sha256").GetString());
        Assert.Equal(1_000_003, stat.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Directories_moves_deletes_and_listings()
    {
        await RestClient.ExpectAsync(await _user.PostAsync("/api/v1/files/mkdir", new { path = "/a/b" }), HttpStatusCode.OK);
        await UploadAsync("/a/b/one.txt", "one"u8.ToArray());
        await UploadAsync("/a/two.txt", "two"u8.ToArray());

        var listing = await RestClient.ExpectAsync(await _user.GetAsync("/api/v1/files?path=/a"), HttpStatusCode.OK);
        Assert.Equal(["b", "two.txt"], listing.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).Order().ToArray());
        Assert.Equal(["modified", "name", "sha256", "size", "type"], listing.GetProperty("items")[0].EnumerateObject().Select(p => p.Name).Order().ToArray());

        await RestClient.ExpectAsync(await _user.PostAsync("/api/v1/files/move", new { from = "/a/two.txt", to = "/a/b/two.txt", overwrite = false }), HttpStatusCode.OK);
        await RestClient.ExpectAsync(await _user.GetAsync("/api/v1/files/stat?path=/a/two.txt"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await _user.DeleteAsync("/api/v1/files?path=/a"), HttpStatusCode.Conflict);
        await RestClient.ExpectAsync(await _user.DeleteAsync("/api/v1/files?path=/a&recursive=true"), HttpStatusCode.NoContent);
        await RestClient.ExpectAsync(await _user.GetAsync("/api/v1/files?path=/a"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Uploads_over_the_cap_with_a_wrong_digest_or_onto_an_existing_file_are_refused_and_store_nothing()
    {
        await UploadAsync("/big.bin", new byte[Cap + 1], expect: HttpStatusCode.RequestEntityTooLarge);

        // Without a Content-Length the cap is enforced while streaming.
        using (var streamed = new StreamContent(new MemoryStream(new byte[Cap + 4096])))
        {
            using var response = await _user.SendAsync(HttpMethod.Put, "/api/v1/files/content?path=/streamed.bin", streamed, r => r.Headers.TransferEncodingChunked = true);
            await RestClient.ExpectAsync(response, HttpStatusCode.RequestEntityTooLarge);
        }

        await UploadAsync("/digest.bin", "abc"u8.ToArray(), expect: HttpStatusCode.UnprocessableEntity, digest: $"sha-256=:{Convert.ToBase64String(new byte[32])}:");
        var right = $"sha-256=:{Convert.ToBase64String(SHA256.HashData("abc"u8))}:";
        await UploadAsync("/digest.bin", "abc"u8.ToArray(), digest: right);
        await UploadAsync("/digest.bin", "xyz"u8.ToArray(), overwrite: false, expect: HttpStatusCode.Conflict);

        Assert.Equal(1L, _server.Scalar("SELECT count(*) FROM files f JOIN users u ON u.id = f.owner_id WHERE u.username = 'una'"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "staging")));
        using var back = await _user.GetAsync("/api/v1/files/content?path=/digest.bin");
        Assert.Equal("abc"u8.ToArray(), await back.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Paths_stay_inside_the_callers_root_and_other_users_files_do_not_exist()
    {
        await _server.AddUserAsync("vic", "vic-password");
        using var vic = await RestClient.AsAsync(_server, "vic", "vic-password");
        await UploadAsync("/private.txt", "secret"u8.ToArray());

        await RestClient.ExpectAsync(await vic.GetAsync("/api/v1/files/content?path=/private.txt"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await vic.GetAsync("/api/v1/files/stat?path=/private.txt"), HttpStatusCode.NotFound);
        foreach (var escape in new[] { "/../2/private.txt", "/a/../../private.txt", "/%2e%2e/private.txt", "/a\0b" })
        {
            using var response = await vic.GetAsync($"/api/v1/files/stat?path={Uri.EscapeDataString(escape)}");
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{escape}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        using var anonymous = new RestClient(_server);
        await RestClient.ExpectAsync(await anonymous.GetAsync("/api/v1/files?path=/"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_upload_past_the_quota_is_refused_with_507()
    {
        await _server.AddUserAsync("wes", "wes-password", quotaBytes: 1000);
        using var wes = await RestClient.AsAsync(_server, "wes", "wes-password");
        using var content = new ByteArrayContent(new byte[2000]);
        using var response = await wes.SendAsync(HttpMethod.Put, "/api/v1/files/content?path=/too-much.bin", content);
        await RestClient.ExpectAsync(response, HttpStatusCode.InsufficientStorage);
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "staging")));
    }
}
