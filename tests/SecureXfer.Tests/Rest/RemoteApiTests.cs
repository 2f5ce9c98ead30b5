using System.Net;
using System.Text.Json;
using SecureXfer.Tests.Interop;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>A server that lets remotes point to loopback (where the test peers run).</summary>
public sealed class LoopbackRemotesServer : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__RemoteAllowedNetworks"] = "127.0.0.0/8" });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>/api/v1/remotes: ownership, write-only encrypted secrets, the network guard, and test connections against real sshd and vsftpd.</summary>
public sealed class RemoteApiTests(LoopbackRemotesServer fixture, SshPeer ssh, FtpsPeer ftps)
    : IClassFixture<LoopbackRemotesServer>, IClassFixture<SshPeer>, IClassFixture<FtpsPeer>
{
    private ServerProcess Server => fixture.Server;

    private object Sftp(string name, string? hostKey) => new
    {
        name,
        kind = "sftp",
        host = "127.0.0.1",
        port = ssh.Server.Port,
        user = TestAccount.User,
        password = TestAccount.Password,
        hostKey,
    };

    [Fact]
    public async Task Secrets_are_write_only_and_encrypted_and_the_test_connection_reports_the_fingerprint()
    {
        using var admin = new RestClient(Server, await Server.LoginAsync());
        var name = "partner-" + Guid.NewGuid().ToString("N")[..6];

        // Not pinned yet: the test connection refuses the server and says which key it showed.
        var created = await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/remotes", Sftp(name, null)), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        Assert.True(created.GetProperty("hasPassword").GetBoolean());
        Assert.False(created.TryGetProperty("password", out _));
        var untrusted = await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/remotes/{id}/test", null), HttpStatusCode.OK);
        Assert.False(untrusted.GetProperty("ok").GetBoolean());
        Assert.False(untrusted.GetProperty("trusted").GetBoolean());
        Assert.Equal(ssh.Server.HostKeyFingerprint, untrusted.GetProperty("fingerprint").GetString());

        // Pinned: it logs in.
        await RestClient.ExpectAsync(await admin.PatchAsync($"/api/v1/remotes/{id}", JsonSerializer.Serialize(new { hostKey = ssh.Server.HostKeyFingerprint })), HttpStatusCode.OK);
        var trusted = await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/remotes/{id}/test", null), HttpStatusCode.OK);
        Assert.True(trusted.GetProperty("ok").GetBoolean(), trusted.ToString());

        // The password is nowhere in clear: not in answers, not in the database, not in the log.
        var listed = await admin.GetAsync("/api/v1/remotes");
        Assert.DoesNotContain(TestAccount.Password, await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var stored = Server.ScalarText($"SELECT password_protected FROM remotes WHERE id = '{id}'")!;
        Assert.DoesNotContain(TestAccount.Password, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(TestAccount.Password, Server.Output, StringComparison.Ordinal);
        using (var database = Server.OpenDatabase())
        using (var dump = database.CreateCommand())
        {
            dump.CommandText = "SELECT * FROM remotes";
            using var reader = dump.ExecuteReader();
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    Assert.DoesNotContain(TestAccount.Password, reader.GetValue(i)?.ToString() ?? string.Empty, StringComparison.Ordinal);
                }
            }
        }

        // A wrong password fails the test without a server error.
        await RestClient.ExpectAsync(await admin.PatchAsync($"/api/v1/remotes/{id}", JsonSerializer.Serialize(new { password = "not-the-password" })), HttpStatusCode.OK);
        var refused = await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/remotes/{id}/test", null), HttpStatusCode.OK);
        Assert.False(refused.GetProperty("ok").GetBoolean());
        Assert.True(refused.GetProperty("trusted").GetBoolean() || refused.GetProperty("fingerprint").ValueKind == JsonValueKind.Null);

        await RestClient.ExpectAsync(await admin.DeleteAsync($"/api/v1/remotes/{id}"), HttpStatusCode.NoContent);
        await RestClient.ExpectAsync(await admin.GetAsync($"/api/v1/remotes/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_ftps_remote_reports_its_certificate_and_logs_in_once_pinned()
    {
        using var admin = new RestClient(Server, await Server.LoginAsync());
        var body = ftps.RemoteBody("ftps-" + Guid.NewGuid().ToString("N")[..6], pinned: false);
        var id = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/remotes", body), HttpStatusCode.Created)).GetProperty("id").GetString()!;
        var untrusted = await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/remotes/{id}/test", null), HttpStatusCode.OK);
        Assert.False(untrusted.GetProperty("ok").GetBoolean());
        var fingerprint = untrusted.GetProperty("fingerprint").GetString()!;
        Assert.StartsWith("SHA256:", fingerprint, StringComparison.Ordinal);

        await RestClient.ExpectAsync(await admin.PatchAsync($"/api/v1/remotes/{id}", JsonSerializer.Serialize(new { tlsFingerprint = fingerprint })), HttpStatusCode.OK);
        var trusted = await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/remotes/{id}/test", null), HttpStatusCode.OK);
        Assert.True(trusted.GetProperty("ok").GetBoolean(), trusted.ToString());
    }

    [Fact]
    public async Task Remotes_belong_to_their_owner()
    {
        var alice = "a" + Guid.NewGuid().ToString("N")[..8];
        var bob = "b" + Guid.NewGuid().ToString("N")[..8];
        await Server.AddUserAsync(alice, "alice-password-1");
        await Server.AddUserAsync(bob, "bob-password-1");
        using var asAlice = await RestClient.AsAsync(Server, alice, "alice-password-1");
        using var asBob = await RestClient.AsAsync(Server, bob, "bob-password-1");
        using var admin = new RestClient(Server, await Server.LoginAsync());

        var id = (await RestClient.ExpectAsync(await asAlice.PostAsync("/api/v1/remotes", Sftp("mine", ssh.Server.HostKeyFingerprint)), HttpStatusCode.Created)).GetProperty("id").GetString()!;
        await RestClient.ExpectAsync(await asAlice.PostAsync("/api/v1/remotes", Sftp("mine", null)), HttpStatusCode.Conflict);

        // Bob sees nothing of Alice's: not in his list, and "not found" for her id whatever he does.
        Assert.Empty((await RestClient.ExpectAsync(await asBob.GetAsync("/api/v1/remotes"), HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
        await RestClient.ExpectAsync(await asBob.GetAsync($"/api/v1/remotes/{id}"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await asBob.PatchAsync($"/api/v1/remotes/{id}", JsonSerializer.Serialize(new { host = "127.0.0.2" })), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await asBob.PostAsync($"/api/v1/remotes/{id}/test", null), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await asBob.DeleteAsync($"/api/v1/remotes/{id}"), HttpStatusCode.NotFound);
        Assert.Equal(1L, Server.Scalar($"SELECT count(*) FROM remotes WHERE id = '{id}' AND host = '127.0.0.1'"));

        // An admin sees everyone's with all=true, and can manage them.
        var all = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/remotes?all=true"), HttpStatusCode.OK);
        Assert.Contains(all.GetProperty("items").EnumerateArray(), r => r.GetProperty("id").GetString() == id);
        await RestClient.ExpectAsync(await admin.GetAsync($"/api/v1/remotes/{id}"), HttpStatusCode.OK);

        // Owner and mass assignment: an id or owner in the body changes nothing.
        var sneaky = await asBob.PostAsync("/api/v1/remotes", new { id = "rmt_taken", ownerId = 1, name = "x", kind = "sftp", host = "127.0.0.1", user = "u" });
        var created = await RestClient.ExpectAsync(sneaky, HttpStatusCode.Created);
        Assert.NotEqual("rmt_taken", created.GetProperty("id").GetString());
        Assert.NotEqual(1, created.GetProperty("ownerId").GetInt64());

        await RestClient.ExpectAsync(await new RestClient(Server).GetAsync("/api/v1/remotes"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Bad_values_are_refused_with_the_field_named()
    {
        using var admin = new RestClient(Server, await Server.LoginAsync());
        foreach (var (body, field) in new (object, string)[]
        {
            (new { name = "k1", kind = "gopher", host = "127.0.0.1", user = "u" }, "kind"),
            (new { name = "k2", kind = "sftp", host = "127.0.0.1", user = "u", port = 70000 }, "port"),
            (new { name = "k3", kind = "sftp", host = "a b", user = "u" }, "host"),
            (new { name = "k4", kind = "sftp", host = "127.0.0.1", user = "u", hostKey = "not-a-key" }, "hostKey"),
            (new { name = "k5", kind = "ftp", host = "127.0.0.1", user = "u", privateKey = "-----BEGIN-----" }, "privateKey"),
            (new { name = "", kind = "sftp", host = "127.0.0.1", user = "u" }, "name"),
        })
        {
            var problem = await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/remotes", body), HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }
    }
}

/// <summary>The network guard on a server with the default setting: no loopback, private or link-local targets.</summary>
public sealed class RemoteNetworkGuardTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("10.1.2.3")]
    [InlineData("192.168.0.10")]
    [InlineData("172.20.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("2002:7f00:1::")]
    [InlineData("::7f00:1")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")]
    [InlineData("fec0::1")]
    [InlineData("198.18.0.1")]
    public async Task Internal_addresses_are_refused(string host)
    {
        using var admin = new RestClient(fixture.Server, await fixture.Server.LoginAsync());
        var problem = await RestClient.ExpectAsync(
            await admin.PostAsync("/api/v1/remotes", new { name = "n" + Guid.NewGuid().ToString("N")[..6], kind = "sftp", host, user = "u" }),
            HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("host", out _), problem.ToString());
        Assert.Equal(0L, fixture.Server.Scalar("SELECT count(*) FROM remotes"));
    }
}
