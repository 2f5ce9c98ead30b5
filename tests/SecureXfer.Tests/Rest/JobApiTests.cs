using System.Diagnostics;
using System.Net;
using System.Text.Json;
using SecureXfer.Shared.Protocol;
using SecureXfer.Tests.Interop;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>
/// /api/v1/jobs against real sshd and vsftpd: pushes and pulls run on their cron, are recorded,
/// honour ownership and quota, run now on request, and survive a server restart.
/// </summary>
public sealed class JobApiTests(LoopbackRemotesServer fixture, SshPeer ssh, FtpsPeer ftps)
    : IClassFixture<LoopbackRemotesServer>, IClassFixture<SshPeer>, IClassFixture<FtpsPeer>
{
    private const string Yearly = "0 0 1 1 *";

    private ServerProcess Server => fixture.Server;

    private async Task<string> SftpRemoteAsync(RestClient client) =>
        (await RestClient.ExpectAsync(await client.PostAsync("/api/v1/remotes", new
        {
            name = "sftp-" + Guid.NewGuid().ToString("N")[..6],
            kind = "sftp",
            host = "127.0.0.1",
            port = ssh.Server.Port,
            user = TestAccount.User,
            password = TestAccount.Password,
            hostKey = ssh.Server.HostKeyFingerprint,
        }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

    private async Task<string> FtpsRemoteAsync(RestClient client) =>
        (await RestClient.ExpectAsync(await client.PostAsync("/api/v1/remotes", ftps.RemoteBody("ftps-" + Guid.NewGuid().ToString("N")[..6])), HttpStatusCode.Created)).GetProperty("id").GetString()!;

    private static async Task<JsonElement> WaitForRunsAsync(RestClient client, string jobId, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var runs = await RestClient.ExpectAsync(await client.GetAsync($"/api/v1/jobs/{jobId}/runs"), HttpStatusCode.OK);
            var finished = runs.GetProperty("items").EnumerateArray().Where(r => r.GetProperty("status").GetString() != "running").ToList();
            if (finished.Count >= count)
            {
                return runs;
            }

            Assert.True(clock.Elapsed < timeout, $"{finished.Count} of {count} runs after {timeout.TotalSeconds} s: {runs}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_push_job_mirrors_the_owners_space_to_sftp_on_its_cron_and_records_each_run()
    {
        using var admin = new RestClient(Server, await Server.LoginAsync());
        using var local = new TempDir("sx-job");
        var space = "/jobs-" + Guid.NewGuid().ToString("N")[..8];
        await using (var client = await Server.ConnectAsync())
        {
            File.WriteAllText(local.Combine("a.txt"), "first file");
            TestFiles.WriteRandom(local.Combine("big.bin"), 3L << 20);
            await client.PutAsync(local.Combine("a.txt"), space + "/a.txt", OverwritePolicy.Replace, CancellationToken.None);
            await client.UploadAsync(local.Combine("big.bin"), space + "/sub/big.bin", new Shared.Protocol.Client.TransferOptions(), null, CancellationToken.None);
        }

        var target = await TestAccount.NewDirectoryAsync();
        var remote = await SftpRemoteAsync(admin);
        var job = await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/jobs", new
        {
            name = "mirror",
            remoteId = remote,
            remotePath = target + "/mirror",
            localPath = space,
            direction = "push",
            cron = "*/2 * * * * ?",
            delete = true,
        }), HttpStatusCode.Created);
        var id = job.GetProperty("id").GetString()!;
        Assert.True(job.GetProperty("nextRunAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow.AddSeconds(3));

        var runs = await WaitForRunsAsync(admin, id, 2, TimeSpan.FromSeconds(30));
        var items = runs.GetProperty("items").EnumerateArray().Where(r => r.GetProperty("status").GetString() != "running").ToList();
        var first = items[^1];
        Assert.Equal("ok", first.GetProperty("status").GetString());
        Assert.Equal(2, first.GetProperty("copied").GetInt32());
        Assert.Equal("schedule", first.GetProperty("trigger").GetString());
        Assert.Equal(0, items[0].GetProperty("copied").GetInt32());
        Assert.Equal("first file", File.ReadAllText(Path.Combine(TestAccount.Home, target, "mirror", "a.txt")));
        Assert.Equal(3L << 20, new FileInfo(Path.Combine(TestAccount.Home, target, "mirror", "sub", "big.bin")).Length);
        Assert.True(Server.Scalar($"SELECT count(*) FROM audit_log WHERE action = 'job.run' AND target = '{id}'") >= 1 || await AuditedAsync(admin, id));

        // Paused, it stops; deleted, its history goes with it.
        await RestClient.ExpectAsync(await admin.PatchAsync($"/api/v1/jobs/{id}", JsonSerializer.Serialize(new { enabled = false })), HttpStatusCode.OK);
        await RestClient.ExpectAsync(await admin.DeleteAsync($"/api/v1/jobs/{id}"), HttpStatusCode.NoContent);
        Assert.Equal(0L, Server.Scalar($"SELECT count(*) FROM job_runs WHERE job_id = '{id}'"));
    }

    private static async Task<bool> AuditedAsync(RestClient admin, string id)
    {
        // The audit writer batches; a read flushes it.
        var audit = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/audit?action=job.run"), HttpStatusCode.OK);
        return audit.GetProperty("items").EnumerateArray().Any(r => r.GetProperty("target").GetString() == id);
    }

    [Fact]
    public async Task A_pull_job_from_ftps_runs_now_on_request_and_its_files_are_recorded_with_hashes()
    {
        using var admin = new RestClient(Server, await Server.LoginAsync());
        var source = await TestAccount.NewDirectoryAsync();
        Directory.CreateDirectory(Path.Combine(TestAccount.Home, source, "in", "d"));
        File.WriteAllText(Path.Combine(TestAccount.Home, source, "in", "d", "report.csv"), "a,b,c\n");
        var remote = await FtpsRemoteAsync(admin);
        var space = "/pulled-" + Guid.NewGuid().ToString("N")[..8];
        var id = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/jobs", new
        {
            name = "pull-" + Guid.NewGuid().ToString("N")[..6],
            remoteId = remote,
            remotePath = source + "/in",
            localPath = space,
            direction = "pull",
            cron = Yearly,
        }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/jobs/{id}/run", null), HttpStatusCode.Accepted);
        var run = (await WaitForRunsAsync(admin, id, 1, TimeSpan.FromSeconds(20))).GetProperty("items")[0];
        Assert.Equal("manual", run.GetProperty("trigger").GetString());
        Assert.True(run.GetProperty("status").GetString() == "ok", run.ToString());

        await using var client = await Server.ConnectAsync();
        var stat = await client.StatAsync(space + "/d/report.csv", CancellationToken.None);
        Assert.Equal(6, stat.Size);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("a,b,c\n"u8)), stat.Sha256);
        // FTP carries whole seconds.
        var original = File.GetLastWriteTimeUtc(Path.Combine(TestAccount.Home, source, "in", "d", "report.csv"));
        Assert.Equal(original.AddTicks(-(original.Ticks % TimeSpan.TicksPerSecond)), stat.Modified.UtcDateTime);
    }

    [Fact]
    public async Task Jobs_belong_to_their_owner_run_with_their_quota_and_use_only_their_remotes()
    {
        var owner = "j" + Guid.NewGuid().ToString("N")[..8];
        var other = "k" + Guid.NewGuid().ToString("N")[..8];
        await Server.AddUserAsync(owner, "owner-password-1", quotaBytes: 1024);
        await Server.AddUserAsync(other, "other-password-1");
        using var asOwner = await RestClient.AsAsync(Server, owner, "owner-password-1");
        using var asOther = await RestClient.AsAsync(Server, other, "other-password-1");
        var ownersRemote = await FtpsRemoteAsync(asOwner);

        // Nobody schedules a job through someone else's remote.
        var borrowed = await asOther.PostAsync("/api/v1/jobs", new { name = "x", remoteId = ownersRemote, remotePath = "", localPath = "/x", direction = "pull", cron = Yearly });
        var problem = await RestClient.ExpectAsync(borrowed, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("remoteId", out _));

        var source = await TestAccount.NewDirectoryAsync();
        File.WriteAllBytes(Path.Combine(TestAccount.Home, source, "big.bin"), new byte[5000]);
        var id = (await RestClient.ExpectAsync(await asOwner.PostAsync("/api/v1/jobs", new
        {
            name = "too-big", remoteId = ownersRemote, remotePath = source, localPath = "/in", direction = "pull", cron = Yearly,
        }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        await RestClient.ExpectAsync(await asOther.GetAsync($"/api/v1/jobs/{id}"), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await asOther.PostAsync($"/api/v1/jobs/{id}/run", null), HttpStatusCode.NotFound);
        await RestClient.ExpectAsync(await asOther.GetAsync($"/api/v1/jobs/{id}/runs"), HttpStatusCode.NotFound);
        Assert.Empty((await RestClient.ExpectAsync(await asOther.GetAsync("/api/v1/jobs"), HttpStatusCode.OK)).GetProperty("items").EnumerateArray());

        // The run is the owner's: 5000 bytes do not fit a 1 KiB quota, and nothing is stored.
        await RestClient.ExpectAsync(await asOwner.PostAsync($"/api/v1/jobs/{id}/run", null), HttpStatusCode.Accepted);
        var run = (await WaitForRunsAsync(asOwner, id, 1, TimeSpan.FromSeconds(20))).GetProperty("items")[0];
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains(run.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("uota", StringComparison.Ordinal));
        var ownerId = Server.Scalar($"SELECT id FROM users WHERE username = '{owner}'");
        Assert.False(File.Exists(Path.Combine(Server.UserRoot(ownerId), "in", "big.bin")));

        foreach (var (body, field) in new (object, string)[]
        {
            (new { name = "c", remoteId = ownersRemote, remotePath = "", localPath = "/x", direction = "pull", cron = "61 * * * *" }, "cron"),
            (new { name = "d", remoteId = ownersRemote, remotePath = "", localPath = "/x", direction = "sideways", cron = Yearly }, "direction"),
            (new { name = "e", remoteId = ownersRemote, remotePath = "../etc", localPath = "/x", direction = "pull", cron = Yearly }, "remotePath"),
            (new { name = "e2", remoteId = ownersRemote, remotePath = "in\\..\\..\\etc", localPath = "/x", direction = "pull", cron = Yearly }, "remotePath"),
            (new { name = "f", remoteId = ownersRemote, remotePath = "", localPath = "/a/../../b", direction = "pull", cron = Yearly }, "localPath"),
        })
        {
            var refused = await RestClient.ExpectAsync(await asOwner.PostAsync("/api/v1/jobs", body), HttpStatusCode.BadRequest);
            Assert.True(refused.GetProperty("errors").TryGetProperty(field, out _), refused.ToString());
        }
    }
}

/// <summary>A job's schedule and history survive a server killed with SIGKILL.</summary>
public sealed class JobRestartTests(SshPeer ssh) : IClassFixture<SshPeer>, IAsyncLifetime
{
    private ServerProcess _server = null!;

    public async Task InitializeAsync() =>
        _server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__RemoteAllowedNetworks"] = "127.0.0.0/8" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Runs_continue_after_a_restart_and_the_history_is_kept()
    {
        var target = await TestAccount.NewDirectoryAsync();
        string id;
        using (var admin = new RestClient(_server, await _server.LoginAsync()))
        {
            var remote = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/remotes", new
            {
                name = "r", kind = "sftp", host = "127.0.0.1", port = ssh.Server.Port, user = TestAccount.User, password = TestAccount.Password, hostKey = ssh.Server.HostKeyFingerprint,
            }), HttpStatusCode.Created)).GetProperty("id").GetString()!;
            await using (var client = await _server.ConnectAsync())
            {
                await client.MkdirAsync("/out", CancellationToken.None);
            }

            id = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/jobs", new
            {
                name = "every-second", remoteId = remote, remotePath = target, localPath = "/out", direction = "push", cron = "* * * * * ?",
            }), HttpStatusCode.Created)).GetProperty("id").GetString()!;
            await WaitAsync(admin, id, 1);
        }

        var before = _server.Scalar($"SELECT count(*) FROM job_runs WHERE job_id = '{id}'");
        _server.Kill();
        await _server.StartAgainAsync(new Dictionary<string, string> { ["SecureXfer__RemoteAllowedNetworks"] = "127.0.0.0/8" });
        using var again = new RestClient(_server, await _server.LoginAsync());
        await WaitAsync(again, id, (int)before + 2);
        var runs = (await RestClient.ExpectAsync(await again.GetAsync($"/api/v1/jobs/{id}/runs?limit=200"), HttpStatusCode.OK)).GetProperty("items").EnumerateArray().ToList();
        Assert.True(runs.Count >= before + 2);
        Assert.DoesNotContain(runs, r => r.GetProperty("status").GetString() == "running" && r.GetProperty("id").GetInt64() <= before);
    }

    private static async Task WaitAsync(RestClient client, string id, int finished)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var runs = await RestClient.ExpectAsync(await client.GetAsync($"/api/v1/jobs/{id}/runs?limit=200"), HttpStatusCode.OK);
            if (runs.GetProperty("items").EnumerateArray().Count(r => r.GetProperty("status").GetString() is "ok") >= finished)
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"Fewer than {finished} finished runs of {id} after 30 s.");
    }
}
