using System.Diagnostics;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Cli;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Hosting;

/// <summary>
/// SIGTERM in the middle of transfers: the server stops accepting, lets them reach a chunk
/// boundary, keeps their state, exits cleanly within its shutdown timeout, and after a restart the
/// same command resumes where it stopped.
/// </summary>
public sealed class GracefulShutdownTests
{
    private const long FileSize = 64L << 20;
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    private static Dictionary<string, string> Settings => new()
    {
        ["SecureXfer__ShutdownTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task An_upload_cut_by_SIGTERM_keeps_its_chunks_and_resumes_after_the_restart()
    {
        await using var server = await ServerProcess.StartAsync(Settings);
        using var home = new TempDir("sx-term");
        var cli = await LoginAsync(server, home);
        var source = home.Combine("big.bin");
        var sha = TestFiles.WriteRandom(source, FileSize);

        using (var running = cli.StartDetached(["put", source, "/big.bin", "--limit-rate", "8M", "--chunk-size", "1M", "--json"]))
        {
            await WaitForAsync(() => server.Scalar("SELECT count(*) FROM upload_chunks") >= 4);
            await TerminateMidTransferAsync(server, running);
        }

        var held = server.Scalar("SELECT count(*) FROM upload_chunks");
        Assert.True(held is > 0 and < 64, $"{held} chunks held");

        // New ports (the old ones may be taken meanwhile by other tests' servers): log in to the restarted server.
        await server.StartAgainAsync(Settings);
        await LoginAsync(server, home);
        var again = await cli.RunAsync("put", source, "/big.bin", "--chunk-size", "1M", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        var file = Assert.Single(again.Json().GetProperty("files").EnumerateArray());
        Assert.Equal(held << 20, file.GetProperty("resumedFrom").GetInt64());
        Assert.Equal(sha, file.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task A_download_cut_by_SIGTERM_ends_at_a_piece_boundary_and_resumes_after_the_restart()
    {
        await using var server = await ServerProcess.StartAsync(Settings);
        using var home = new TempDir("sx-term");
        var cli = await LoginAsync(server, home);
        var source = home.Combine("source.bin");
        var sha = TestFiles.WriteRandom(source, FileSize);
        Assert.Equal(0, (await cli.RunAsync("put", source, "/big.bin")).ExitCode);

        var target = home.Combine("copy.bin");
        using (var running = cli.StartDetached(["get", "/big.bin", target, "--limit-rate", "8M", "--json"]))
        {
            await WaitForAsync(() => File.Exists(target + ".sxpart.json"));
            await Task.Delay(500);
            await TerminateMidTransferAsync(server, running);
        }

        Assert.False(File.Exists(target));
        await server.StartAgainAsync(Settings);
        await LoginAsync(server, home);
        var again = await cli.RunAsync("get", "/big.bin", target, "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        var file = Assert.Single(again.Json().GetProperty("files").EnumerateArray());
        Assert.True(file.GetProperty("resumedFrom").GetInt64() is > 0 and < FileSize, again.Stdout);
        Assert.Equal(sha, TestFiles.Sha256(target));
    }

    [Fact]
    public async Task A_transfer_that_will_not_stop_is_cut_at_the_shutdown_timeout()
    {
        // A client that stops reading holds its download's flush forever; the timeout still ends the process.
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__ShutdownTimeout"] = "00:00:03" });
        var token = await server.LoginAsync();
        using (var source = new TempDir("sx-term"))
        {
            var path = source.Combine("f.bin");
            TestFiles.WriteRandom(path, 64L << 20);
            await using var client = await server.ConnectAsync();
            await client.UploadAsync(path, "/stuck.bin", new TransferOptions(), null, CancellationToken.None);
        }

        await using var raw = await RawSxp.ConnectAuthenticatedAsync(server, token);
        await raw.SendAsync(FrameType.DownloadOpen, 1, new DownloadOpenRequest("/stuck.bin", 0, -1), SxpJsonContext.Default.DownloadOpenRequest);
        await Task.Delay(1000);
        var took = await server.TerminateAsync(TimeSpan.FromSeconds(60));
        Assert.True(took < TimeSpan.FromSeconds(3 + 10), $"the server took {took} to stop");
    }

    /// <summary>SIGTERM with the transfer running: a clean, quick stop, and the client told it failed.</summary>
    private static async Task TerminateMidTransferAsync(ServerProcess server, Process running)
    {
        Assert.False(running.HasExited, "the transfer ended before the server was stopped");
        var took = await server.TerminateAsync(TimeSpan.FromSeconds(60));

        // Well inside the timeout: the transfer stopped at a chunk boundary instead of being waited for or cut.
        Assert.True(took < ShutdownTimeout / 2, $"the server took {took} to stop");
        Assert.Equal(0, server.ExitCode);
        Assert.True(running.WaitForExit(60_000));
        Assert.NotEqual(0, running.ExitCode);

        // Nothing logged as an error, and the next start need not re-hash the trees.
        Assert.DoesNotContain("fail:", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", server.Output, StringComparison.Ordinal);
        Assert.Empty(server.RunningMarkers);
    }

    private static async Task<CliRunner> LoginAsync(ServerProcess server, TempDir home)
    {
        var cli = CliServer.Runner(home);
        var login = await cli.RunAsync(
            ["login", "--server", server.BaseUrl, "--user", "admin", "--ca", server.CertificatePath, "--password-stdin", "--json"],
            ServerProcess.AdminPassword + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        return cli;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the transfer did not get going");
            await Task.Delay(100);
        }
    }
}
