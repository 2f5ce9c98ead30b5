using System.Diagnostics;
using System.Net;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Interop;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Persistence;

/// <summary>
/// Two server instances on one PostgreSQL database and one data directory, as behind a load
/// balancer: either continues what the other started, credentials from one work on the other,
/// a job due on both runs once, and the audit chain stays one valid chain.
/// </summary>
public sealed class TwoInstanceTests(FtpsPeer ftps) : IClassFixture<FtpsPeer>, IAsyncLifetime
{
    private readonly TempDir _work = new("sx-two");
    private ServerProcess _a = null!;
    private ServerProcess _b = null!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string> { ["SecureXfer__RemoteAllowedNetworks"] = "127.0.0.0/8" };
        _a = new ServerProcess(postgres: true);
        await _a.StartAgainAsync(settings);
        _b = new ServerProcess(_a);
        await _b.StartAgainAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        _work.Dispose();
    }

    [Fact]
    public async Task A_token_issued_by_one_instance_works_on_the_other_and_a_logout_on_one_holds_on_both()
    {
        await _a.AddUserAsync("tina", "tina-password-two-instances");
        var login = await RestClient.ExpectAsync(await _a.PostLoginAsync("tina", "tina-password-two-instances"), HttpStatusCode.OK);
        var token = login.GetProperty("accessToken").GetString()!;
        var refresh = login.GetProperty("refreshToken").GetString()!;

        using (var onB = new RestClient(_b, token))
        {
            await RestClient.ExpectAsync(await onB.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        }

        // A refresh token from A is traded on B; the new pair works on A.
        using var anonymousB = new RestClient(_b);
        var renewed = await RestClient.ExpectAsync(await anonymousB.PostAsync("/api/v1/auth/refresh", new { refreshToken = refresh }), HttpStatusCode.OK);
        var second = renewed.GetProperty("accessToken").GetString()!;
        using (var onA = new RestClient(_a, second))
        {
            await RestClient.ExpectAsync(await onA.GetAsync("/api/v1/me"), HttpStatusCode.OK);
            await RestClient.ExpectAsync(await onA.PostAsync("/api/v1/auth/logout", new { refreshToken = renewed.GetProperty("refreshToken").GetString() }), HttpStatusCode.NoContent);
        }

        using (var onB = new RestClient(_b, second))
        {
            using var refused = await onB.GetAsync("/api/v1/me");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // SXP on B refuses it too.
        await using var client = new SxpClient(_b.Endpoint, second);
        await Assert.ThrowsAnyAsync<Exception>(() => client.ListAsync("/", CancellationToken.None));
    }

    [Fact]
    public async Task An_upload_started_on_one_instance_is_resumed_and_committed_on_the_other()
    {
        var source = _work.Combine("big.bin");
        var sha = TestFiles.WriteRandom(source, 32L << 20);
        using (var stop = new CancellationTokenSource())
        {
            await using var onA = await _a.ConnectAsync();
            var upload = onA.UploadAsync(source, "/shared/big.bin", new TransferOptions { ChunkSize = 1 << 20, RateLimit = 8L << 20 }, null, stop.Token);
            var clock = Stopwatch.StartNew();
            while (_a.Scalar("SELECT count(*) FROM upload_chunks") < 6 && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }

            // Instance A is lost in the middle (SIGKILL, like a crashed node).
            _a.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => upload);
        }

        var held = _b.Scalar("SELECT count(*) FROM upload_chunks");
        Assert.True(held >= 6, $"{held} chunks recorded");
        await using (var onB = await _b.ConnectAsync())
        {
            var result = await onB.UploadAsync(source, "/shared/big.bin", new TransferOptions { ChunkSize = 1 << 20 }, null, CancellationToken.None);
            Assert.True(result.ResumedFrom >= 6L << 20, $"resumed from {result.ResumedFrom}");
            Assert.Equal(sha, result.Sha256);
        }

        // A, restarted, finds its own marker unlocked (it died) and reconciles; B's marker, held by a live process, stays.
        Assert.Equal(2, _b.RunningMarkers.Length);
        var before = _a.Output.Split('\n').Length;
        await _a.StartAgainAsync(new Dictionary<string, string> { ["SecureXfer__RemoteAllowedNetworks"] = "127.0.0.0/8" });
        Assert.Contains("did not stop cleanly", string.Join('\n', _a.Output.Split('\n').Skip(before)), StringComparison.Ordinal);
        Assert.DoesNotContain("did not stop cleanly", _b.Output, StringComparison.Ordinal);
        Assert.Equal(2, _b.RunningMarkers.Length);

        // A serves the file B committed.
        await using var again = await _a.ConnectAsync();
        Assert.Equal(sha, (await again.StatAsync("/shared/big.bin", CancellationToken.None)).Sha256);
        var copy = _work.Combine("copy.bin");
        Assert.Equal(sha, (await again.DownloadAsync("/shared/big.bin", copy, new TransferOptions(), null, CancellationToken.None)).Sha256);
        Assert.Equal(0, _b.Scalar("SELECT count(*) FROM upload_sessions"));
    }

    [Fact]
    public async Task The_same_upload_sent_through_both_instances_at_once_is_committed_once_and_whole()
    {
        var source = _work.Combine("twice.bin");
        var sha = TestFiles.WriteRandom(source, 12L << 20);
        await using var onA = await _a.ConnectAsync();
        await using var onB = await _b.ConnectAsync();
        var options = new TransferOptions { ChunkSize = 1 << 20 };
        var results = await Task.WhenAll(
            Attempt(() => onA.UploadAsync(source, "/twice.bin", options, null, CancellationToken.None)),
            Attempt(() => onB.UploadAsync(source, "/twice.bin", options, null, CancellationToken.None)));

        // At least one went through; a loser was told the upload was gone, never that it failed inside.
        Assert.Contains(results, r => r.Result is not null);
        Assert.All(results.Where(r => r.Error is not null), r => Assert.True(r.Error is Shared.Protocol.SxpException { Code: Shared.Protocol.ErrorCode.UploadGone }, r.Error!.ToString()));
        Assert.All(results.Where(r => r.Result is not null), r => Assert.Equal(sha, r.Result!.Sha256));
        Assert.Equal(1, _a.Scalar("SELECT count(*) FROM files WHERE path = '/twice.bin'"));
        Assert.Equal(sha, _a.ScalarText("SELECT sha256 FROM files WHERE path = '/twice.bin'"));
        Assert.Equal(0, _a.Scalar("SELECT count(*) FROM upload_sessions"));
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(_a.UserRoot(1), "twice.bin")));

        static async Task<(TransferResult? Result, Exception? Error)> Attempt(Func<Task<TransferResult>> upload)
        {
            try
            {
                return (await upload(), null);
            }
            catch (Exception ex) when (ex is Shared.Protocol.SxpException or IOException)
            {
                return (null, ex);
            }
        }
    }

    [Fact]
    public async Task A_job_due_on_both_instances_runs_once()
    {
        using var admin = new RestClient(_a, await _a.LoginAsync());
        var folder = await TestAccount.NewDirectoryAsync();
        Directory.CreateDirectory(Path.Combine(TestAccount.Home, folder, "in"));
        await File.WriteAllTextAsync(Path.Combine(TestAccount.Home, folder, "in", "a.txt"), "pulled once\n");
        var remote = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/remotes", ftps.RemoteBody("ftps-two")), HttpStatusCode.Created)).GetProperty("id").GetString()!;
        var job = (await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/jobs", new
        {
            name = "pull-two",
            remoteId = remote,
            remotePath = folder + "/in",
            localPath = "/pulled-two",
            direction = "pull",
            cron = "0 0 1 1 *",
        }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        // Due now for both schedulers, several times over: each due time runs once.
        for (var round = 1; round <= 3; round++)
        {
            await RestClient.ExpectAsync(await admin.PostAsync($"/api/v1/jobs/{job}/run", null), HttpStatusCode.Accepted);
            var clock = Stopwatch.StartNew();
            while (_a.Scalar($"SELECT count(*) FROM job_runs WHERE job_id = '{job}' AND status <> 'running'") < round && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }

            await Task.Delay(2500);
            Assert.Equal(round, _a.Scalar($"SELECT count(*) FROM job_runs WHERE job_id = '{job}'"));
        }

        Assert.Equal(3, _a.Scalar($"SELECT count(*) FROM job_runs WHERE job_id = '{job}' AND status = 'ok'"));
    }

    [Fact]
    public async Task The_audit_chain_stays_one_valid_chain_under_writes_from_both_instances()
    {
        var tokenA = await _a.LoginAsync();
        var tokenB = await _b.LoginAsync();
        await Task.WhenAll(
            WriteAuditedAsync(_a, tokenA, "a"),
            WriteAuditedAsync(_b, tokenB, "b"),
            WriteAuditedAsync(_a, tokenA, "c"),
            WriteAuditedAsync(_b, tokenB, "d"));

        using var admin = new RestClient(_b, tokenB);
        var verify = await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/audit/verify", null), HttpStatusCode.OK);
        Assert.True(verify.GetProperty("ok").GetBoolean(), verify.ToString());
        var records = verify.GetProperty("records").GetInt64();
        Assert.True(records >= 4 * 40, $"{records} records");
        Assert.Equal(records, _a.Scalar("SELECT max(seq) FROM audit_log"));
        Assert.Equal(records, _a.Scalar("SELECT count(*) FROM audit_log"));
    }

    private static async Task WriteAuditedAsync(ServerProcess server, string token, string prefix)
    {
        await using var client = new SxpClient(server.Endpoint, token);
        for (var i = 0; i < 40; i++)
        {
            await client.MkdirAsync($"/audit-{prefix}-{i}", CancellationToken.None);
        }
    }
}
