using System.Net;
using System.Text.Json;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>User administration over REST against the real host: who may do what, and what each change does.</summary>
public sealed class UserAdminTests : AdminRestTests
{
    [Fact]
    public async Task An_admin_creates_a_user_who_can_then_log_in_and_the_answer_never_shows_a_hash()
    {
        using var response = await Admin.PostAsync("/api/v1/users", new { username = "carol", password = "carol-password-1", role = "user", quotaBytes = 1_000_000, displayName = "Carol C." });
        var user = await RestClient.ExpectAsync(response, HttpStatusCode.Created);
        Assert.Equal("carol", user.GetProperty("username").GetString());
        Assert.Equal("user", user.GetProperty("role").GetString());
        Assert.Equal(1_000_000, user.GetProperty("quotaBytes").GetInt64());
        Assert.False(user.GetProperty("disabled").GetBoolean());
        Assert.Equal("Carol C.", user.GetProperty("displayName").GetString());
        var raw = user.GetRawText();
        Assert.DoesNotContain("hash", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("$2b$", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("stamp", raw, StringComparison.OrdinalIgnoreCase);
        Assert.Equal($"/api/v1/users/{user.GetProperty("id").GetInt64()}", response.Headers.Location?.OriginalString);
        Assert.NotNull(response.Headers.ETag);

        using var carol = await RestClient.AsAsync(Server, "carol", "carol-password-1");
        var me = await RestClient.ExpectAsync(await carol.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        Assert.Equal("carol", me.GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("{\"username\":\"bad name\",\"password\":\"long-enough-1\"}", "username")]
    [InlineData("{\"username\":\"ok\",\"password\":\"short\"}", "password")]
    [InlineData("{\"username\":\"ok\",\"password\":\"long-enough-1\",\"role\":\"root\"}", "role")]
    [InlineData("{\"username\":\"ok\",\"password\":\"long-enough-1\",\"quotaBytes\":-5}", "quotaBytes")]
    public async Task Bad_new_users_are_refused_with_the_field_named(string body, string field)
    {
        using var response = await Admin.SendAsync(HttpMethod.Post, "/api/v1/users", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await RestClient.ExpectAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
        Assert.Equal(1L, Server.Scalar("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task A_taken_username_is_a_conflict_whatever_its_case()
    {
        await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/users", new { username = "dave", password = "dave-password-1" }), HttpStatusCode.Created);
        await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/users", new { username = "DAVE", password = "dave-password-2" }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Listing_pages_and_filters()
    {
        for (var i = 0; i < 7; i++)
        {
            await Server.AddUserAsync($"member{i}", "member-password", role: i % 2 == 0 ? "user" : "auditor");
        }

        var first = await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users?page=1&pageSize=3"), HttpStatusCode.OK);
        Assert.Equal(8, first.GetProperty("total").GetInt32());
        Assert.Equal(1, first.GetProperty("page").GetInt32());
        Assert.Equal(3, first.GetProperty("pageSize").GetInt32());
        Assert.Equal(3, first.GetProperty("items").GetArrayLength());

        var last = await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users?page=3&pageSize=3"), HttpStatusCode.OK);
        Assert.Equal(2, last.GetProperty("items").GetArrayLength());

        var auditors = await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users?role=auditor"), HttpStatusCode.OK);
        Assert.Equal(3, auditors.GetProperty("total").GetInt32());

        var search = await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users?search=ber4"), HttpStatusCode.OK);
        Assert.Equal("member4", Assert.Single(search.GetProperty("items").EnumerateArray()).GetProperty("username").GetString());

        // LIKE wildcards in the search are taken literally.
        var wildcard = await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users?search=%25"), HttpStatusCode.OK);
        Assert.Equal(0, wildcard.GetProperty("total").GetInt32());

        await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users?pageSize=100000"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Who_may_do_what()
    {
        await Server.AddUserAsync("erin", "erin-password", role: "user");
        await Server.AddUserAsync("otto", "otto-password", role: "auditor");
        using var anonymous = new RestClient(Server);
        using var erin = await RestClient.AsAsync(Server, "erin", "erin-password");
        using var otto = await RestClient.AsAsync(Server, "otto", "otto-password");
        var erinId = Server.Scalar("SELECT id FROM users WHERE username = 'erin'");

        await RestClient.ExpectAsync(await anonymous.GetAsync("/api/v1/users"), HttpStatusCode.Unauthorized);
        await RestClient.ExpectAsync(await anonymous.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        await RestClient.ExpectAsync(await erin.GetAsync("/api/v1/users"), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await erin.GetAsync($"/api/v1/users/{erinId}"), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await erin.PostAsync("/api/v1/users", new { username = "x1", password = "x-password-1" }), HttpStatusCode.Forbidden);

        // No mass assignment: a user cannot raise their own role or quota, by any route.
        await RestClient.ExpectAsync(await erin.PatchAsync($"/api/v1/users/{erinId}", "{\"role\":\"admin\"}"), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await erin.SendAsync(HttpMethod.Patch, "/api/v1/me", new { role = "admin" }), HttpStatusCode.MethodNotAllowed);
        Assert.Equal("user", (string?)Server.ScalarText($"SELECT role FROM users WHERE id = {erinId}"));

        // Auditors read, never write.
        await RestClient.ExpectAsync(await otto.GetAsync("/api/v1/users"), HttpStatusCode.OK);
        await RestClient.ExpectAsync(await otto.GetAsync($"/api/v1/users/{erinId}"), HttpStatusCode.OK);
        await RestClient.ExpectAsync(await otto.PatchAsync($"/api/v1/users/{erinId}", "{\"disabled\":true}"), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await otto.DeleteAsync($"/api/v1/users/{erinId}"), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await otto.PostAsync($"/api/v1/users/{erinId}/password", new { password = "otto-sets-this" }), HttpStatusCode.Forbidden);

        await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/users/999999"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Updates_honour_If_Match_and_a_role_change_ends_the_users_sessions()
    {
        await Server.AddUserAsync("fay", "fay-password", role: "user");
        var id = Server.Scalar("SELECT id FROM users WHERE username = 'fay'");
        var fayToken = await Server.LoginAsync("fay", "fay-password");

        using var get = await Admin.GetAsync($"/api/v1/users/{id}");
        await RestClient.ExpectAsync(get, HttpStatusCode.OK);
        var etag = get.Headers.ETag!.ToString();

        using var updated = await Admin.PatchAsync($"/api/v1/users/{id}", "{\"role\":\"auditor\",\"quotaBytes\":5000,\"displayName\":\"Fay\"}", etag);
        var user = await RestClient.ExpectAsync(updated, HttpStatusCode.OK);
        Assert.Equal("auditor", user.GetProperty("role").GetString());
        Assert.Equal(5000, user.GetProperty("quotaBytes").GetInt64());
        Assert.NotEqual(etag, updated.Headers.ETag!.ToString());

        // The old ETag is stale now: the second writer is refused and nothing changes.
        await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{id}", "{\"role\":\"admin\"}", etag), HttpStatusCode.PreconditionFailed);
        Assert.Equal("auditor", (string?)Server.ScalarText($"SELECT role FROM users WHERE id = {id}"));

        // quotaBytes null removes the quota; fields that cannot be set are named.
        var cleared = await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{id}", "{\"quotaBytes\":null}"), HttpStatusCode.OK);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("quotaBytes").ValueKind);
        var refused = await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{id}", "{\"passwordHash\":\"x\"}"), HttpStatusCode.BadRequest);
        Assert.True(refused.GetProperty("errors").TryGetProperty("passwordHash", out _));

        using var fay = new RestClient(Server, fayToken);
        await RestClient.ExpectAsync(await fay.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Disabling_and_resetting_a_password_take_effect_at_once()
    {
        await Server.AddUserAsync("gil", "gil-password-1", role: "user");
        var id = Server.Scalar("SELECT id FROM users WHERE username = 'gil'");
        using var gil = await RestClient.AsAsync(Server, "gil", "gil-password-1");

        await RestClient.ExpectAsync(await Admin.PostAsync($"/api/v1/users/{id}/password", new { password = "gil-password-2" }), HttpStatusCode.NoContent);
        await RestClient.ExpectAsync(await gil.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        using (var old = await Server.PostLoginAsync("gil", "gil-password-1"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        using var again = await RestClient.AsAsync(Server, "gil", "gil-password-2");
        await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{id}", "{\"disabled\":true}"), HttpStatusCode.OK);
        await RestClient.ExpectAsync(await again.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        using var login = await Server.PostLoginAsync("gil", "gil-password-2");
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task A_user_changes_their_own_password_only_with_the_current_one()
    {
        await Server.AddUserAsync("hal", "hal-password-1", role: "user");
        using var hal = await RestClient.AsAsync(Server, "hal", "hal-password-1");

        await RestClient.ExpectAsync(await hal.PostAsync("/api/v1/me/password", new { currentPassword = "wrong-password", newPassword = "hal-password-2" }), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await hal.PostAsync("/api/v1/me/password", new { currentPassword = "hal-password-1", newPassword = "x" }), HttpStatusCode.BadRequest);
        await RestClient.ExpectAsync(await hal.PostAsync("/api/v1/me/password", new { currentPassword = "hal-password-1", newPassword = "hal-password-2" }), HttpStatusCode.NoContent);

        // Outstanding tokens end with the change.
        await RestClient.ExpectAsync(await hal.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        _ = await Server.LoginAsync("hal", "hal-password-2");
    }

    [Fact]
    public async Task Deleting_a_user_removes_their_files_records_and_staged_uploads()
    {
        await Server.AddUserAsync("ivy", "ivy-password", role: "user");
        var id = Server.Scalar("SELECT id FROM users WHERE username = 'ivy'");
        using (var local = new TempDir("sx-ivy"))
        {
            await using var client = await Server.ConnectAsync("ivy", "ivy-password");
            var file = local.Combine("a.bin");
            TestFiles.WriteRandom(file, 100_000);
            await client.UploadAsync(file, "/docs/a.bin", new SecureXfer.Shared.Protocol.Client.TransferOptions(), null, CancellationToken.None);
        }

        Assert.True(Directory.Exists(Server.UserRoot(id)));
        await RestClient.ExpectAsync(await Admin.DeleteAsync($"/api/v1/users/{id}"), HttpStatusCode.NoContent);

        Assert.False(Directory.Exists(Server.UserRoot(id)));
        Assert.Equal(0L, Server.Scalar($"SELECT count(*) FROM files WHERE owner_id = {id}"));
        Assert.Equal(0L, Server.Scalar($"SELECT count(*) FROM upload_sessions WHERE owner_id = {id}"));
        await RestClient.ExpectAsync(await Admin.GetAsync($"/api/v1/users/{id}"), HttpStatusCode.NotFound);
        using var login = await Server.PostLoginAsync("ivy", "ivy-password");
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task The_last_enabled_admin_can_be_neither_demoted_disabled_nor_deleted()
    {
        var adminId = Server.Scalar("SELECT id FROM users WHERE username = 'admin'");
        await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{adminId}", "{\"role\":\"user\"}"), HttpStatusCode.Conflict);
        await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{adminId}", "{\"disabled\":true}"), HttpStatusCode.Conflict);
        await RestClient.ExpectAsync(await Admin.DeleteAsync($"/api/v1/users/{adminId}"), HttpStatusCode.Conflict);

        // With a second admin, the first may step down.
        await Server.AddUserAsync("second", "second-password", role: "admin");
        await RestClient.ExpectAsync(await Admin.PatchAsync($"/api/v1/users/{adminId}", "{\"role\":\"user\"}"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_user_endpoints_and_the_bearer_scheme()
    {
        using var anonymous = new RestClient(Server);
        var document = await RestClient.ExpectAsync(await anonymous.GetAsync("/swagger/v1/swagger.json"), HttpStatusCode.OK);
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/users", "/api/v1/users/{id}", "/api/v1/users/{id}/password", "/api/v1/me", "/api/v1/me/password", "/api/v1/auth/login" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        }

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        using var ui = await anonymous.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
    }
}

/// <summary>Request bodies on the control plane are capped.</summary>
public sealed class RequestLimitTests
{
    [Fact]
    public async Task An_oversized_request_body_is_refused_with_413_and_changes_nothing()
    {
        await using var server = await ServerProcess.StartAsync();
        using var admin = new RestClient(server, await server.LoginAsync());
        var huge = "{\"username\":\"big\",\"password\":\"" + new string('x', 2 << 20) + "\"}";
        using var response = await admin.SendAsync(HttpMethod.Post, "/api/v1/users", new StringContent(huge, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(1L, server.Scalar("SELECT count(*) FROM users"));
    }
}
