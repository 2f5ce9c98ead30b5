using System.Diagnostics;
using SecureXfer.Tests.Interop;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary><c>sxfer remotes ...</c> and <c>sxfer jobs ...</c>: a partner's SFTP server mirrored on a schedule, set up from the CLI alone.</summary>
public sealed class CliJobTests(LoopbackRemotesServer fixture, SshPeer ssh) : IClassFixture<LoopbackRemotesServer>, IClassFixture<SshPeer>
{
    [Fact]
    public async Task A_remote_and_a_job_are_set_up_tested_run_and_removed_from_the_cli()
    {
        using var home = new TempDir("sx-cli-jobs");
        var cli = CliServer.Runner(home);
        var login = await cli.RunAsync(["login", "--server", fixture.Server.BaseUrl, "--user", "admin", "--ca", fixture.Server.CertificatePath, "--password-stdin", "--json"], ServerProcess.AdminPassword + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        var url = $"sftp://{TestAccount.User}@127.0.0.1:{ssh.Server.Port}";

        // Without a pin the test connection fails and shows the key to pin.
        var loose = await cli.RunAsync(["remotes", "add", "loose", url, "--password-stdin", "--json"], TestAccount.Password + "\n");
        Assert.True(loose.ExitCode == 0, loose.ToString());
        var looseTest = await cli.RunAsync("remotes", "test", loose.Json().GetProperty("id").GetString()!, "--json");
        Assert.Equal(1, looseTest.ExitCode);
        Assert.Equal(ssh.Server.HostKeyFingerprint, looseTest.Json().GetProperty("fingerprint").GetString());

        var added = await cli.RunAsync(["remotes", "add", "partner", url, "--password-stdin", "--host-key", ssh.Server.HostKeyFingerprint, "--json"], TestAccount.Password + "\n");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.DoesNotContain(TestAccount.Password, added.Stdout, StringComparison.Ordinal);
        var remoteId = added.Json().GetProperty("id").GetString()!;
        var tested = await cli.RunAsync("remotes", "test", remoteId, "--json");
        Assert.True(tested.ExitCode == 0, tested.ToString());

        await using (var client = await fixture.Server.ConnectAsync())
        {
            File.WriteAllText(home.Combine("note.txt"), "to the partner");
            await client.PutAsync(home.Combine("note.txt"), "/outgoing/note.txt", Shared.Protocol.OverwritePolicy.Replace, CancellationToken.None);
        }

        var target = await TestAccount.NewDirectoryAsync();
        var job = await cli.RunAsync("jobs", "add", "to-partner", "--remote", remoteId, "--remote-path", target, "--path", "/outgoing",
            "--direction", "push", "--cron", "0 0 1 1 *", "--delete", "--json");
        Assert.True(job.ExitCode == 0, job.ToString());
        var jobId = job.Json().GetProperty("id").GetString()!;
        Assert.Equal(0, (await cli.RunAsync("jobs", "run", jobId, "--json")).ExitCode);

        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(TestAccount.Home, target, "note.txt")) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(250);
        }

        Assert.Equal("to the partner", File.ReadAllText(Path.Combine(TestAccount.Home, target, "note.txt")));
        CliResult runs;
        do
        {
            runs = await cli.RunAsync("jobs", "runs", jobId, "--json");
        }
        while (runs.Json().GetProperty("items").EnumerateArray().All(r => r.GetProperty("status").GetString() == "running") && clock.Elapsed < TimeSpan.FromSeconds(20));

        var run = Assert.Single(runs.Json().GetProperty("items").EnumerateArray());
        Assert.Equal(("ok", "manual", 1), (run.GetProperty("status").GetString(), run.GetProperty("trigger").GetString(), run.GetProperty("copied").GetInt32()));

        var list = await cli.RunAsync("jobs", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("to-partner", list.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, (await cli.RunAsync("jobs", "rm", jobId, "--json")).ExitCode);
        Assert.Equal(4, (await cli.RunAsync("jobs", "rm", jobId, "--json")).ExitCode);
        Assert.Equal(0, (await cli.RunAsync("remotes", "rm", remoteId, "--json")).ExitCode);
    }
}
