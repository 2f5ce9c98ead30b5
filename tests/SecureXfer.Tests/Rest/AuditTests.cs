using System.Net;
using System.Text.Json;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>The audit log: what gets recorded, who may read it, and that tampering is detected.</summary>
public sealed class AuditTests : AdminRestTests
{
    private async Task<List<JsonElement>> RecordsAsync(string query = "")
    {
        var page = await RestClient.ExpectAsync(await Admin.GetAsync("/api/v1/audit?pageSize=500" + query), HttpStatusCode.OK);
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    [Fact]
    public async Task Logins_user_changes_keys_and_file_transfers_are_recorded_with_their_source()
    {
        using (var failed = await Server.PostLoginAsync("admin", "wrong-password"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        // A password typed into the username field must not be kept.
        using (var typo = await Server.PostLoginAsync("correct-horse-battery", "x"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, typo.StatusCode);
        }

        await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/users", new { username = "audrey", password = "audrey-password" }), HttpStatusCode.Created);
        await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/keys", new { name = "k" }), HttpStatusCode.Created);
        using (var local = new TempDir("sx-audit"))
        {
            var file = local.Combine("f.bin");
            TestFiles.WriteRandom(file, 200_000);
            await using var client = await Server.ConnectAsync();
            await client.UploadAsync(file, "/audited/f.bin", new TransferOptions(), null, CancellationToken.None);
            await client.DownloadAsync("/audited/f.bin", local.Combine("back.bin"), new TransferOptions(), null, CancellationToken.None);
            await client.MoveAsync("/audited/f.bin", "/audited/g.bin", false, CancellationToken.None);
        }

        var records = await RecordsAsync();
        var actions = records.Select(r => r.GetProperty("action").GetString()).ToList();
        foreach (var expected in new[] { "auth.login", "user.create", "key.create", "sxp.auth", "file.upload", "file.download", "file.move" })
        {
            Assert.Contains(expected, actions);
        }

        var failedLogin = records.Single(r => r.GetProperty("action").GetString() == "auth.login" && r.GetProperty("outcome").GetString() == "failed" && r.GetProperty("actor").GetString() == "admin");
        Assert.Equal("127.0.0.1", failedLogin.GetProperty("source").GetString());
        Assert.Equal("/audited/f.bin", records.First(r => r.GetProperty("action").GetString() == "file.upload").GetProperty("target").GetString());
        Assert.DoesNotContain("wrong-password", JsonSerializer.Serialize(records), StringComparison.Ordinal);
        Assert.DoesNotContain("correct-horse-battery", JsonSerializer.Serialize(records), StringComparison.Ordinal);
        Assert.Contains(records, r => r.GetProperty("actor").GetString() == "(no such account)");
        Assert.DoesNotContain("audrey-password", JsonSerializer.Serialize(records), StringComparison.Ordinal);

        var logins = await RecordsAsync("&action=auth.login");
        Assert.All(logins, r => Assert.Equal("auth.login", r.GetProperty("action").GetString()));
    }

    [Fact]
    public async Task The_chain_verifies_and_a_record_changed_in_the_database_breaks_it()
    {
        for (var i = 0; i < 5; i++)
        {
            await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/files/mkdir", new { path = $"/d{i}" }), HttpStatusCode.OK);
        }

        var good = await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/audit/verify", null), HttpStatusCode.OK);
        Assert.True(good.GetProperty("ok").GetBoolean());
        Assert.True(good.GetProperty("records").GetInt64() >= 6);

        // The table itself refuses changes; someone with the database file can still drop that guard.
        Assert.ThrowsAny<Exception>(() => Server.Execute("UPDATE audit_log SET target = '/elsewhere' WHERE action = 'file.mkdir'"));
        Assert.ThrowsAny<Exception>(() => Server.Execute("DELETE FROM audit_log"));
        var victim = Server.Scalar("SELECT min(seq) FROM audit_log WHERE action = 'file.mkdir'");
        Assert.ThrowsAny<Exception>(() => Server.Execute(Server.UsesPostgres ? "TRUNCATE audit_log" : "DELETE FROM audit_log WHERE seq > 0"));
        var dropGuard = Server.UsesPostgres ? "DROP TRIGGER audit_log_no_update ON audit_log" : "DROP TRIGGER audit_log_no_update";
        Server.Execute($"{dropGuard}; UPDATE audit_log SET target = '/elsewhere' WHERE seq = {victim}");

        var broken = await RestClient.ExpectAsync(await Admin.PostAsync("/api/v1/audit/verify", null), HttpStatusCode.OK);
        Assert.False(broken.GetProperty("ok").GetBoolean());
        Assert.Equal(victim, broken.GetProperty("brokenAt").GetInt64());
    }

    [Fact]
    public async Task Only_admins_and_auditors_read_the_log()
    {
        await Server.AddUserAsync("plain", "plain-password");
        await Server.AddUserAsync("watcher", "watcher-password", role: "auditor");
        using var plain = await RestClient.AsAsync(Server, "plain", "plain-password");
        using var watcher = await RestClient.AsAsync(Server, "watcher", "watcher-password");
        using var anonymous = new RestClient(Server);

        await RestClient.ExpectAsync(await anonymous.GetAsync("/api/v1/audit"), HttpStatusCode.Unauthorized);
        await RestClient.ExpectAsync(await plain.GetAsync("/api/v1/audit"), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await plain.PostAsync("/api/v1/audit/verify", null), HttpStatusCode.Forbidden);
        await RestClient.ExpectAsync(await watcher.GetAsync("/api/v1/audit"), HttpStatusCode.OK);
        await RestClient.ExpectAsync(await watcher.PostAsync("/api/v1/audit/verify", null), HttpStatusCode.OK);
    }
}
