using System.Diagnostics;
using System.Text.Json;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>
/// <c>sxfer sync</c> against a real server: trees up and down, what a second run does, deletes
/// and their safety rules, backups, dry runs, filters, resuming, locking and the schedulers.
/// The server's side is checked on its disk: content, modification time and what is absent.
/// </summary>
public sealed class CliSyncTests(CliServer fixture) : IClassFixture<CliServer>
{
    private const long LargeFile = 20L << 20;

    private ServerProcess Server => fixture.Server;

    /// <summary>Where a remote path of the admin user lives on the server's disk.</summary>
    private string OnServer(string remote) =>
        Path.Combine(Server.UserRoot(Server.Scalar("SELECT id FROM users WHERE username = 'admin'")), remote.TrimStart('/'));

    [Fact]
    public async Task A_tree_goes_up_and_down_and_a_second_run_copies_nothing()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot() + "/tree";
        var source = home.Combine("src");
        var files = MakeTree(source);

        var first = await SyncAsync(cli, "./src", remote);
        Assert.Equal(files, first.GetProperty("copied").GetInt32());
        Assert.Equal(0, first.GetProperty("updated").GetInt32());
        Assert.Equal(Directory.GetFiles(source, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length), first.GetProperty("bytes").GetInt64());
        AssertSameTree(source, OnServer(remote));

        var second = await SyncAsync(cli, "./src", remote);
        AssertNothingMoved(second, files);

        // --checksum compares with the hashes the server recorded, and finds nothing to send either.
        AssertNothingMoved(await SyncAsync(cli, "./src", remote, "--checksum"), files);

        // Local hashes are remembered by path, size and time: a doctored cache entry is believed,
        // which shows the file was not read again (and the doctored file is then sent).
        var cachePath = Path.Combine(cli.ConfigDir, "hash-cache.json");
        var cache = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(cachePath))!.AsArray();
        Assert.Equal(files, cache.Count);
        var one = cache.Single(e => e!["path"]!.GetValue<string>().EndsWith("/a/one.txt", StringComparison.Ordinal))!;
        one["sha256"] = new string('0', 64);
        File.WriteAllText(cachePath, cache.ToJsonString());
        var doctored = await SyncAsync(cli, "./src", remote, "--checksum");
        Assert.Equal((0, 1, 0, files - 1), Counts(doctored));

        // And down again, into a directory that does not exist yet.
        var down = await SyncAsync(cli, remote, "./down");
        Assert.Equal(files, down.GetProperty("copied").GetInt32());
        AssertSameTree(source, home.Combine("down"));
        AssertNothingMoved(await SyncAsync(cli, remote, "./down"), files);
        AssertNothingMoved(await SyncAsync(cli, remote, "./down", "--checksum"), files);
        Assert.Empty(Directory.GetFiles(home.Combine("down"), "*.sxpart*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_modified_an_added_and_a_deleted_file_are_each_handled()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "d"));
        File.WriteAllText(Path.Combine(source, "keep.txt"), "unchanged");
        File.WriteAllText(Path.Combine(source, "d", "edit.txt"), "version 1");
        File.WriteAllText(Path.Combine(source, "gone.txt"), "soon deleted");
        await SyncAsync(cli, "./src", remote);

        // Same size, new content: only the modification time tells.
        File.WriteAllText(Path.Combine(source, "d", "edit.txt"), "version 2");
        File.SetLastWriteTimeUtc(Path.Combine(source, "d", "edit.txt"), DateTime.UtcNow.AddMinutes(1));
        File.WriteAllText(Path.Combine(source, "d", "new.txt"), "added");
        File.Delete(Path.Combine(source, "gone.txt"));

        var run = await SyncAsync(cli, "./src", remote);
        Assert.Equal((1, 1, 0, 1), Counts(run));
        Assert.Equal("version 2", File.ReadAllText(OnServer(remote + "/d/edit.txt")));
        Assert.Equal("added", File.ReadAllText(OnServer(remote + "/d/new.txt")));
        Assert.True(File.Exists(OnServer(remote + "/gone.txt")), "Without --delete nothing is deleted.");

        var pruned = await SyncAsync(cli, "./src", remote, "--delete");
        Assert.Equal((0, 0, 1, 3), Counts(pruned));
        Assert.False(File.Exists(OnServer(remote + "/gone.txt")));
        AssertSameTree(source, OnServer(remote));
    }

    [Fact]
    public async Task Delete_is_refused_for_an_empty_or_missing_source_and_past_max_delete()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        for (var i = 0; i < 5; i++)
        {
            File.WriteAllText(Path.Combine(source, $"f{i}.txt"), $"file {i}");
        }

        await SyncAsync(cli, "./src", remote);
        var before = Snapshot(OnServer(remote));

        // An empty source (an unmounted disk looks like this) deletes nothing.
        Directory.CreateDirectory(home.Combine("empty"));
        var empty = await cli.RunAsync("sync", "./empty", remote, "--delete", "--json");
        Assert.Equal(1, empty.ExitCode);
        var error = Assert.Single(empty.Json().GetProperty("errors").EnumerateArray());
        Assert.Contains("holds no files", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(OnServer(remote)));

        // A source that does not exist is "not found", and nothing happens.
        var missing = await cli.RunAsync("sync", "./nowhere", remote, "--delete", "--json");
        Assert.Equal(4, missing.ExitCode);
        Assert.Equal(before, Snapshot(OnServer(remote)));

        // Three deletes against a limit of two: none at all.
        for (var i = 0; i < 3; i++)
        {
            File.Delete(Path.Combine(source, $"f{i}.txt"));
        }

        var limited = await cli.RunAsync("sync", "./src", remote, "--delete", "--max-delete", "2", "--json");
        Assert.Equal(1, limited.ExitCode);
        Assert.Equal(0, limited.Json().GetProperty("deleted").GetInt32());
        Assert.Contains("--max-delete 2", limited.Stdout, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(OnServer(remote)));

        var allowed = await SyncAsync(cli, "./src", remote, "--delete", "--max-delete", "3");
        Assert.Equal(3, allowed.GetProperty("deleted").GetInt32());
        Assert.Equal(["f3.txt", "f4.txt"], Directory.GetFiles(OnServer(remote)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Backup_dir_keeps_the_versions_that_were_replaced_or_deleted()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "sub", "doc.txt"), "first draft");
        File.WriteAllText(Path.Combine(source, "old.txt"), "to be removed");
        await SyncAsync(cli, "./src", remote);

        File.WriteAllText(Path.Combine(source, "sub", "doc.txt"), "second draft, longer");
        File.Delete(Path.Combine(source, "old.txt"));
        var run = await SyncAsync(cli, "./src", remote, "--delete", "--backup-dir", ".versions");
        Assert.Equal((0, 1, 1, 0), Counts(run));
        Assert.Equal("second draft, longer", File.ReadAllText(OnServer(remote + "/sub/doc.txt")));
        Assert.Equal("first draft", File.ReadAllText(OnServer(remote + "/.versions/sub/doc.txt")));
        Assert.Equal("to be removed", File.ReadAllText(OnServer(remote + "/.versions/old.txt")));
        Assert.False(File.Exists(OnServer(remote + "/old.txt")));

        // The backup directory is not part of the sync: --delete leaves it alone.
        AssertNothingMoved(await SyncAsync(cli, "./src", remote, "--delete", "--backup-dir", ".versions"), 1);

        // A second replacement keeps both older versions.
        File.WriteAllText(Path.Combine(source, "sub", "doc.txt"), "third draft");
        await SyncAsync(cli, "./src", remote, "--delete", "--backup-dir", ".versions");
        var kept = Directory.GetFiles(OnServer(remote + "/.versions/sub")).Select(File.ReadAllText).Order(StringComparer.Ordinal);
        Assert.Equal(["first draft", "second draft, longer"], kept);

        // Downloading with a backup directory outside the target works the same way.
        await SyncAsync(cli, remote, "./local");
        File.WriteAllText(home.Combine("local", "sub", "doc.txt"), "edited locally, to be overwritten");
        File.SetLastWriteTimeUtc(home.Combine("local", "sub", "doc.txt"), DateTime.UtcNow.AddHours(-1));
        await SyncAsync(cli, remote, "./local", "--backup-dir", home.Combine("local-backup"));
        Assert.Equal("third draft", File.ReadAllText(home.Combine("local", "sub", "doc.txt")));
        Assert.Equal("edited locally, to be overwritten", File.ReadAllText(home.Combine("local-backup", "sub", "doc.txt")));
    }

    [Fact]
    public async Task A_dry_run_prints_the_plan_and_changes_nothing()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "a.txt"), "aaa");
        File.WriteAllText(Path.Combine(source, "b.txt"), "bbb");
        await SyncAsync(cli, "./src", remote);
        File.WriteAllText(Path.Combine(source, "a.txt"), "changed");
        File.WriteAllText(Path.Combine(source, "c.txt"), "new file");
        File.Delete(Path.Combine(source, "b.txt"));
        var before = Snapshot(OnServer(remote));

        var plan = await SyncAsync(cli, "./src", remote, "--dry-run", "--delete");
        Assert.True(plan.GetProperty("dryRun").GetBoolean());
        Assert.Equal((1, 1, 1, 0), Counts(plan));
        var actions = plan.GetProperty("plan").EnumerateArray()
            .Select(a => $"{a.GetProperty("action").GetString()} {a.GetProperty("path").GetString()} {a.GetProperty("size").GetInt64()}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(["copy c.txt 8", "delete b.txt 3", "update a.txt 7"], actions);
        Assert.Equal(before, Snapshot(OnServer(remote)));

        var human = await cli.RunAsync("sync", "./src", remote, "--dry-run", "--delete");
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("would update a.txt (7 B)", human.Stdout, StringComparison.Ordinal);
        Assert.Contains("would delete b.txt", human.Stdout, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", human.Stdout, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(OnServer(remote)));
    }

    [Fact]
    public async Task Filters_and_ignore_files_skip_paths_and_protect_them_from_delete()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "build"));
        Directory.CreateDirectory(Path.Combine(source, "docs", "drafts"));
        File.WriteAllText(Path.Combine(source, ".sxferignore"), "# build output\nbuild/\n*.tmp\n!important.tmp\n");
        File.WriteAllText(Path.Combine(source, "docs", ".sxferignore"), "drafts/\n");
        File.WriteAllText(Path.Combine(source, "build", "out.bin"), "binary");
        File.WriteAllText(Path.Combine(source, "scratch.tmp"), "scratch");
        File.WriteAllText(Path.Combine(source, "important.tmp"), "keep me");
        File.WriteAllText(Path.Combine(source, "docs", "guide.md"), "guide");
        File.WriteAllText(Path.Combine(source, "docs", "drafts", "wip.md"), "wip");
        File.WriteAllText(Path.Combine(source, "app.log"), "log");

        // Something already at the destination that the filters cover must survive --delete.
        var remoteDirectory = OnServer(remote);
        var protectedFile = await cli.RunAsync("put", home.Combine("src", "app.log"), remote + "/server.log");
        Assert.True(protectedFile.ExitCode == 0, protectedFile.ToString());

        var run = await SyncAsync(cli, "./src", remote, "--exclude", "*.log", "--delete");
        Assert.Equal(0, run.GetProperty("deleted").GetInt32());
        var synced = Directory.GetFiles(remoteDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(remoteDirectory, f)).Order(StringComparer.Ordinal);
        Assert.Equal([".sxferignore", "docs/.sxferignore", "docs/guide.md", "important.tmp", "server.log"], synced);

        // --include narrows to matching files; the rest stays where it is.
        var only = await SyncAsync(cli, "./src", remote + "-md", "--include", "*.md");
        Assert.Equal(1, only.GetProperty("copied").GetInt32());
        Assert.True(File.Exists(OnServer(remote + "-md/docs/guide.md")));
    }

    [Fact]
    public async Task A_file_replacing_a_directory_needs_delete()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "thing"));
        File.WriteAllText(Path.Combine(source, "thing", "inner.txt"), "inner");
        File.WriteAllText(Path.Combine(source, "other.txt"), "other");
        await SyncAsync(cli, "./src", remote);

        Directory.Delete(Path.Combine(source, "thing"), recursive: true);
        File.WriteAllText(Path.Combine(source, "thing"), "now a file");
        var refused = await cli.RunAsync("sync", "./src", remote, "--json");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("--delete replaces it", refused.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(OnServer(remote + "/thing/inner.txt")));

        var replaced = await SyncAsync(cli, "./src", remote, "--delete");
        Assert.Equal(1, replaced.GetProperty("copied").GetInt32());
        Assert.Equal("now a file", File.ReadAllText(OnServer(remote + "/thing")));
    }

    [Fact]
    public async Task A_sync_killed_mid_transfer_resumes_on_the_next_run()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        var sha = TestFiles.WriteRandom(Path.Combine(source, "big.bin"), 64L << 20);

        using (var running = cli.StartDetached(["sync", "./src", remote, "--limit-rate", "8M", "--chunk-size", "1M", "--json"]))
        {
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            Assert.False(running.HasExited, "The sync ended before it could be interrupted.");
            running.Kill(entireProcessTree: true);
            await running.WaitForExitAsync();
        }

        Assert.False(File.Exists(OnServer(remote + "/big.bin")), "A partial file never becomes visible.");
        var again = await SyncAsync(cli, "./src", remote);
        Assert.Equal(1, again.GetProperty("copied").GetInt32());
        Assert.InRange(again.GetProperty("resumed").GetInt64(), 1, (64L << 20) - 1);
        Assert.Equal(sha, TestFiles.Sha256(OnServer(remote + "/big.bin")));
    }

    [Fact]
    public async Task Two_runs_of_the_same_pair_never_overlap()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        TestFiles.WriteRandom(Path.Combine(source, "big.bin"), 32L << 20);

        using var first = cli.StartDetached(["sync", "./src", remote, "--limit-rate", "8M", "--json"]);
        var clock = Stopwatch.StartNew();
        CliResult second;
        do
        {
            await Task.Delay(300);
            second = await cli.RunAsync("sync", "./src", remote, "--json");
        }
        while (second.ExitCode == 0 && clock.Elapsed < TimeSpan.FromSeconds(3) && !first.HasExited);

        Assert.False(first.HasExited, "The first sync ended before the second one started.");
        Assert.Equal(1, second.ExitCode);
        Assert.Equal("sync_running", second.Json().GetProperty("error").GetProperty("code").GetString());

        // Reading from the directory being written (the reverse direction) is refused as well.
        var reverse = await cli.RunAsync("sync", remote, "./elsewhere", "--json");
        Assert.False(first.HasExited, "The first sync ended before the reverse one started.");
        Assert.Equal(1, reverse.ExitCode);
        Assert.Equal("sync_running", reverse.Json().GetProperty("error").GetProperty("code").GetString());

        // The first run was not disturbed.
        await first.WaitForExitAsync();
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(32L << 20, new FileInfo(OnServer(remote + "/big.bin")).Length);
    }

    [Fact]
    public async Task Watch_picks_up_a_new_file_within_seconds_and_stops_cleanly_on_SIGTERM()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "first.txt"), "first");

        using var watching = cli.StartReading(["sync", "./src", remote, "--watch", "--json"]);
        var initial = await watching.NextJsonAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, initial.GetProperty("copied").GetInt32());

        var clock = Stopwatch.StartNew();
        File.WriteAllText(Path.Combine(source, "second.txt"), "second");
        var next = await watching.NextJsonAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, next.GetProperty("copied").GetInt32());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"Took {clock.Elapsed}.");
        Assert.Equal("second", File.ReadAllText(OnServer(remote + "/second.txt")));

        Assert.Equal(0, await watching.TerminateAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_cron_schedule_fires_and_runs_never_overlap()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "a.txt"), "a");

        // Quartz's six-field form has seconds: every two seconds.
        using var scheduled = cli.StartReading(["sync", "./src", remote, "--cron", "*/2 * * * * ?", "--json"]);
        var first = await scheduled.NextJsonAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, first.GetProperty("copied").GetInt32());
        File.WriteAllText(Path.Combine(source, "b.txt"), "b");
        var second = await scheduled.NextJsonAsync(TimeSpan.FromSeconds(15));
        var third = await scheduled.NextJsonAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(1, second.GetProperty("copied").GetInt32() + third.GetProperty("copied").GetInt32());

        var starts = new[] { first, second, third }.Select(r => r.GetProperty("startedAt").GetDateTimeOffset()).ToList();
        var ends = new[] { first, second }.Select(r => r.GetProperty("startedAt").GetDateTimeOffset().AddSeconds(r.GetProperty("seconds").GetDouble())).ToList();
        Assert.True(starts[1] >= ends[0] && starts[2] >= ends[1], "A run started before the previous one ended.");
        Assert.Equal(0, await scheduled.TerminateAsync(TimeSpan.FromSeconds(10)));

        // A bad expression is a usage error before anything runs.
        var bad = await cli.RunAsync("sync", "./src", remote, "--cron", "61 * * * *", "--json");
        Assert.Equal(2, bad.ExitCode);
    }

    [Fact]
    public async Task Every_runs_repeatedly_and_a_failed_run_does_not_end_the_schedule()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();

        // The source is missing at first (an unmounted disk): runs fail, the schedule goes on.
        using var scheduled = cli.StartReading(["sync", "./src", remote, "--every", "1s", "--json"]);
        var failed = await scheduled.NextJsonAsync(TimeSpan.FromSeconds(30));
        Assert.NotEmpty(failed.GetProperty("errors").EnumerateArray());

        Directory.CreateDirectory(home.Combine("src"));
        File.WriteAllText(home.Combine("src", "late.txt"), "arrived later");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(OnServer(remote + "/late.txt")) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await scheduled.NextJsonAsync(TimeSpan.FromSeconds(20));
        }

        Assert.Equal("arrived later", File.ReadAllText(OnServer(remote + "/late.txt")));
        Assert.Equal(0, await scheduled.TerminateAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Dropped_connections_are_retried_and_the_run_resumes_where_it_was()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        await using var proxy = new DroppingProxy(Server.SxpPort);
        var saved = Path.Combine(cli.ConfigDir, "login.json");
        var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(saved))!;
        state["sxpPort"] = proxy.Port;
        File.WriteAllText(saved, state.ToJsonString());

        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(source);
        var sha = TestFiles.WriteRandom(Path.Combine(source, "big.bin"), 32L << 20);

        // Cut once a third has passed, so the server holds whole chunks to resume from.
        using var running = cli.StartReading(["sync", "./src", remote, "--limit-rate", "8M", "--chunk-size", "1M", "--parallel", "2", "--json"]);
        var clock = Stopwatch.StartNew();
        while (proxy.Forwarded < (12L << 20) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50);
        }

        proxy.DropAll();
        var run = await running.NextJsonAsync(TimeSpan.FromSeconds(60));
        Assert.True(proxy.Dropped > 0);
        Assert.Empty(run.GetProperty("errors").EnumerateArray());
        Assert.Equal(1, run.GetProperty("copied").GetInt32());
        Assert.InRange(run.GetProperty("resumed").GetInt64(), 1, (32L << 20) - 1);
        Assert.Equal(sha, TestFiles.Sha256(OnServer(remote + "/big.bin")));
        await running.Process.WaitForExitAsync();
        Assert.Equal(0, running.Process.ExitCode);
    }

    [Fact]
    public async Task A_link_to_a_directory_at_the_destination_is_never_written_through()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "sub", "x.txt"), "from the server");
        await SyncAsync(cli, "./src", remote);

        var outside = home.Combine("outside");
        Directory.CreateDirectory(outside);
        var target = home.Combine("down");
        Directory.CreateDirectory(target);
        Directory.CreateSymbolicLink(Path.Combine(target, "sub"), outside);

        var refused = await cli.RunAsync("sync", remote, "./down", "--json");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("link or special file", refused.Stdout, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(outside));

        // --delete replaces the link (only the link) with a real directory.
        var replaced = await SyncAsync(cli, remote, "./down", "--delete");
        Assert.Equal(1, replaced.GetProperty("copied").GetInt32());
        Assert.Null(new DirectoryInfo(Path.Combine(target, "sub")).LinkTarget);
        Assert.Equal("from the server", File.ReadAllText(Path.Combine(target, "sub", "x.txt")));
        Assert.Empty(Directory.GetFileSystemEntries(outside));

        // A link to a directory in the source is skipped, not followed.
        Directory.CreateSymbolicLink(Path.Combine(source, "elsewhere"), outside);
        File.WriteAllText(Path.Combine(outside, "private.txt"), "not for the server");
        var skipped = await cli.RunAsync("sync", "./src", remote);
        Assert.True(skipped.ExitCode == 0, skipped.ToString());
        Assert.Contains("skipping", skipped.Stderr, StringComparison.Ordinal);
        Assert.False(Path.Exists(OnServer(remote + "/elsewhere")));
    }

    [Fact]
    public async Task Names_differing_only_in_Unicode_normalisation_match_and_are_never_deleted()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var remote = CliServer.RemoteRoot();
        var source = home.Combine("src");
        var decomposed = "cafe\u0301";
        Directory.CreateDirectory(Path.Combine(source, decomposed));
        File.WriteAllText(Path.Combine(source, decomposed, "re\u0301sume\u0301.txt"), "résumé");

        var first = await SyncAsync(cli, "./src", remote, "--delete");
        Assert.Equal(1, first.GetProperty("copied").GetInt32());
        Assert.True(File.Exists(OnServer(remote + "/caf\u00e9/r\u00e9sum\u00e9.txt")), "The server stores names in NFC.");
        AssertNothingMoved(await SyncAsync(cli, "./src", remote, "--delete"), 1);

        // Downwards, the local decomposed names are recognised as the server's files.
        AssertNothingMoved(await SyncAsync(cli, remote, "./src", "--delete"), 1);
        Assert.True(File.Exists(Path.Combine(source, decomposed, "re\u0301sume\u0301.txt")));
    }

    [Fact]
    public async Task A_repeated_sync_refuses_a_direction_that_depends_on_a_missing_local_directory()
    {
        using var home = new TempDir("sx-sync");
        var cli = await LoginAsync(home);
        var missing = home.Combine("not-there");
        var refused = await cli.RunAsync("sync", missing, "/backup", "--every", "5m", "--json");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("sxfer://", refused.Json().GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // Two local sides, or two server sides, are refused too.
        Assert.Equal(2, (await cli.RunAsync("sync", "./a", "./b", "--json")).ExitCode);
        Assert.Equal(2, (await cli.RunAsync("sync", "sxfer://127.0.0.1/a", "sxfer://127.0.0.1/b", "--json")).ExitCode);
    }

    private async Task<CliRunner> LoginAsync(TempDir home)
    {
        var cli = CliServer.Runner(home);
        await fixture.LoginAsync(cli);
        return cli;
    }

    private static async Task<JsonElement> SyncAsync(CliRunner cli, string source, string destination, params string[] more)
    {
        var result = await cli.RunAsync(["sync", source, destination, .. more, "--json"], stdin: null, TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Empty(json.GetProperty("errors").EnumerateArray());
        return json;
    }

    private static (int Copied, int Updated, int Deleted, int Unchanged) Counts(JsonElement run) => (
        run.GetProperty("copied").GetInt32(),
        run.GetProperty("updated").GetInt32(),
        run.GetProperty("deleted").GetInt32(),
        run.GetProperty("unchanged").GetInt32());

    private static void AssertNothingMoved(JsonElement run, int files)
    {
        Assert.Equal((0, 0, 0, files), Counts(run));
        Assert.Equal(0, run.GetProperty("bytes").GetInt64());
    }

    /// <summary>Nested directories, an empty one, non-ASCII names, an empty file and a 20 MiB one; returns the file count.</summary>
    private static int MakeTree(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "a", "b", "c"));
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        Directory.CreateDirectory(Path.Combine(root, "ünïcødé 目录"));
        File.WriteAllText(Path.Combine(root, "a", "one.txt"), "one\n");
        File.WriteAllText(Path.Combine(root, "a", "b", "c", "deep.txt"), "deep!\n");
        File.WriteAllBytes(Path.Combine(root, "zero.bin"), []);
        File.WriteAllText(Path.Combine(root, "ünïcødé 目录", "héllo wörld.txt"), "héllo wörld");
        File.WriteAllText(Path.Combine(root, "x"), "x");
        TestFiles.WriteRandom(Path.Combine(root, "a", "large.bin"), LargeFile);
        return 6;
    }

    /// <summary>Same directories (empty ones too), same file contents, same modification times.</summary>
    private static void AssertSameTree(string expected, string actual)
    {
        Assert.Equal(Relative(expected, Directory.GetDirectories(expected, "*", SearchOption.AllDirectories)), Relative(actual, Directory.GetDirectories(actual, "*", SearchOption.AllDirectories)));
        var files = Relative(expected, Directory.GetFiles(expected, "*", SearchOption.AllDirectories));
        Assert.Equal(files, Relative(actual, Directory.GetFiles(actual, "*", SearchOption.AllDirectories)));
        foreach (var file in files)
        {
            var (left, right) = (Path.Combine(expected, file), Path.Combine(actual, file));
            Assert.Equal(TestFiles.Sha256(left), TestFiles.Sha256(right));
            Assert.Equal(File.GetLastWriteTimeUtc(left), File.GetLastWriteTimeUtc(right));
        }
    }

    private static List<string> Relative(string root, IEnumerable<string> paths) =>
        [.. paths.Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal)];

    /// <summary>Every file under a directory with its content hash and time, for "nothing changed" checks.</summary>
    private static List<string> Snapshot(string root) =>
        [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetRelativePath(root, f)} {TestFiles.Sha256(f)} {File.GetLastWriteTimeUtc(f).Ticks}")
            .Order(StringComparer.Ordinal)];
}
