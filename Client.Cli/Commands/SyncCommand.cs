using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;
using SecureXfer.Cli.Sync;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Cli.Commands;

/// <summary>
/// <c>sxfer sync SRC DST</c>: makes DST match SRC, one way, once or repeatedly (<c>--every</c>,
/// <c>--cron</c>, <c>--watch</c>). Runs never overlap, in this process or across processes.
/// </summary>
internal static class SyncCommand
{
    /// <summary>With --watch and no --every, a full pass this often catches what the watcher missed.</summary>
    private static readonly TimeSpan DefaultWatchPass = TimeSpan.FromMinutes(10);

    /// <summary>Before each run, a token expiring this soon is renewed, so a run never starts on a dying login.</summary>
    private static readonly TimeSpan RenewAhead = TimeSpan.FromMinutes(5);

    public static Command Create(GlobalOptions globals)
    {
        var flags = new TransferFlags();
        var source = new Argument<string>("SRC") { Description = "The directory to copy from: local, or on the server (/path or sxfer://HOST/path)." };
        var destination = new Argument<string>("DST") { Description = "The directory to make match SRC, on the other side." };
        var delete = new Option<bool>("--delete") { Description = "Delete files at DST that are not at SRC (refused when SRC is empty, or after any failure in the run)." };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Print what would be copied, updated and deleted; change nothing." };
        var checksum = new Option<bool>("--checksum", "-c") { Description = "Compare files of equal size by SHA-256 instead of modification time." };
        var maxDelete = new Option<int>("--max-delete")
        {
            Description = $"Refuse to delete anything when a run would delete more than N files.",
            HelpName = "N",
            DefaultValueFactory = _ => SyncOptions.DefaultMaxDelete,
        };
        var backupDir = new Option<string?>("--backup-dir")
        {
            Description = "Move replaced and deleted files into DIR on the DST side instead of destroying them (relative: inside DST).",
            HelpName = "DIR",
        };
        var exclude = new Option<string[]>("--exclude") { Description = "Skip paths matching GLOB (repeatable; .gitignore syntax).", HelpName = "GLOB" };
        var include = new Option<string[]>("--include") { Description = "Sync only files matching GLOB (repeatable).", HelpName = "GLOB" };
        var every = new Option<string?>("--every") { Description = "Run again at this interval, e.g. 30s, 5m, 1h (with --watch: the full-pass interval).", HelpName = "INTERVAL" };
        var cron = new Option<string?>("--cron") { Description = "Run on this cron schedule, e.g. \"*/5 * * * *\" (local time).", HelpName = "EXPR" };
        var watch = new Option<bool>("--watch") { Description = "Run whenever the local SRC changes (plus a full pass every 10 minutes, or --every)." };
        var retries = new Option<int>("--retries")
        {
            Description = "Attempts after a transient network failure, with doubling waits.",
            HelpName = "N",
            DefaultValueFactory = _ => 3,
        };

        maxDelete.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--max-delete must be 0 or more.");
            }
        });
        retries.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 20)
            {
                r.AddError("--retries must be between 0 and 20.");
            }
        });

        var remote = new RemoteFlags();
        var command = new Command("sync", "Make DST match SRC: copy new and changed files (and with --delete, remove extra ones), once or on a schedule.")
        {
            source, destination, delete, dryRun, checksum, maxDelete, backupDir, exclude, include, every, cron, watch, retries,
            flags.Parallel, flags.ChunkSize, flags.LimitRate,
        };
        remote.AddTo(command);
        command.Validators.Add(r =>
        {
            var repeated = (r.GetValue(every) is not null ? 1 : 0) + (r.GetValue(cron) is not null ? 1 : 0);
            if (r.GetValue(cron) is not null && (r.GetValue(every) is not null || r.GetValue(watch)))
            {
                r.AddError("--cron cannot be combined with --every or --watch.");
            }

            if (r.GetValue(dryRun) && (repeated > 0 || r.GetValue(watch)))
            {
                r.AddError("--dry-run runs once; leave out --every, --cron and --watch.");
            }
        });

        command.SetBody(globals, async context =>
        {
            var parse = context.ParseResult;
            var repeated = parse.GetValue(every) is not null || parse.GetValue(cron) is not null || parse.GetValue(watch);
            var targets = SyncTargets.Decide(parse.GetRequiredValue(source), parse.GetRequiredValue(destination), repeated);
            SyncFilter filter;
            try
            {
                filter = SyncFilter.Create(parse.GetValue(exclude) ?? [], parse.GetValue(include) ?? []);
            }
            catch (ArgumentException ex)
            {
                throw CliException.Usage(ex.Message);
            }

            var run = new SyncRun(context, targets, flags.ToOptions(parse), parse.GetValue(backupDir), remote, new SyncOptions
            {
                Delete = parse.GetValue(delete),
                DryRun = parse.GetValue(dryRun),
                Checksum = parse.GetValue(checksum),
                MaxDelete = parse.GetValue(maxDelete),
                Filter = filter,
                Retries = parse.GetValue(retries),
            });

            var schedule = Schedule(parse.GetValue(every), parse.GetValue(cron));
            if (parse.GetValue(watch))
            {
                if (targets.SourceKind != SideKind.Local)
                {
                    throw CliException.Usage("--watch follows changes of a local SRC; this SRC is not local (use --every or --cron).");
                }

                await WatchAsync(run, parse.GetValue(every) is null ? DefaultWatchPass : IntervalOf(parse.GetValue(every)!), context.CancellationToken).ConfigureAwait(false);
            }
            else if (schedule is not null)
            {
                await RepeatAsync(run, schedule, runFirst: parse.GetValue(cron) is null, context.CancellationToken).ConfigureAwait(false);
            }
            else
            {
                var result = await run.OnceAsync(live: context.ShowProgress, context.CancellationToken).ConfigureAwait(false);
                if (!result.Succeeded)
                {
                    throw new CliException(ExitCodes.Failure, "sync_failed", "Some files were not synced.") { Reported = true };
                }
            }
        });
        return command;
    }

    private static SyncSchedule? Schedule(string? every, string? cron)
    {
        if (cron is not null)
        {
            try
            {
                return SyncSchedule.Cron(cron);
            }
            catch (FormatException ex)
            {
                throw CliException.Usage("--cron: " + ex.Message);
            }
        }

        return every is null ? null : SyncSchedule.Every(IntervalOf(every));
    }

    private static TimeSpan IntervalOf(string text) =>
        SyncSchedule.TryParseInterval(text, out var interval)
            ? interval
            : throw CliException.Usage($"--every: '{text}' is not an interval; use a number with s, m, h or d, e.g. 30s, 5m, 1h30m (1 second to 366 days).");

    /// <summary>Runs on a schedule until Ctrl+C or SIGTERM, which stop it cleanly (exit 0); an unfinished run resumes next time.</summary>
    private static async Task RepeatAsync(SyncRun run, SyncSchedule schedule, bool runFirst, CancellationToken cancellationToken)
    {
        var next = runFirst ? DateTimeOffset.UtcNow : schedule.Next(DateTimeOffset.UtcNow);
        try
        {
            while (next is { } due)
            {
                if (due > DateTimeOffset.UtcNow)
                {
                    run.Report.Note($"next run at {due.ToLocalTime():yyyy-MM-dd HH:mm:ss} ({schedule.Describe()})");
                    await WaitUntilAsync(due, cancellationToken).ConfigureAwait(false);
                }

                var started = DateTimeOffset.UtcNow;
                await run.ScheduledAsync(cancellationToken).ConfigureAwait(false);

                // A run that took longer than the interval is followed by the next due time, not by a burst of missed ones.
                next = schedule.Next(started);
                if (next <= DateTimeOffset.UtcNow)
                {
                    next = schedule.Next(DateTimeOffset.UtcNow);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            run.Report.Note("stopped.");
        }
    }

    /// <summary>Sleeps until <paramref name="due"/> by the wall clock, in steps of at most an hour (timers cannot span months, and clocks jump).</summary>
    private static async Task WaitUntilAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        for (var left = due - DateTimeOffset.UtcNow; left > TimeSpan.Zero; left = due - DateTimeOffset.UtcNow)
        {
            await Task.Delay(left < TimeSpan.FromHours(1) ? left : TimeSpan.FromHours(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WatchAsync(SyncRun run, TimeSpan fullPass, CancellationToken cancellationToken)
    {
        using var watcher = new SourceWatcher(Path.GetFullPath(run.Targets.Source), run.Report.Warn);
        try
        {
            await run.ScheduledAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var changed = await watcher.WaitAsync(fullPass, cancellationToken).ConfigureAwait(false);
                run.Report.Note(changed ? "changes seen; syncing." : "periodic full pass.");
                await run.ScheduledAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            run.Report.Note("stopped.");
        }
    }

    /// <summary>Everything one run needs, and one run of it.</summary>
    private sealed class SyncRun(CommandContext context, SyncTargets targets, TransferOptions transfer, string? backupDir, RemoteFlags remote, SyncOptions options)
    {
        private HashCache? _hashes;

        public SyncTargets Targets { get; } = targets;

        public SyncReport Report { get; } = new(context.Reporter);

        /// <summary>A run inside a schedule: its failure is reported and the schedule goes on, except for a usage error.</summary>
        public async Task ScheduledAsync(CancellationToken cancellationToken)
        {
            Report.Timestamps = true;
            try
            {
                await OnceAsync(live: false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                var failure = Failures.Explain(ex, null, cancellationToken);
                if (failure.ExitCode == ExitCodes.Usage)
                {
                    throw failure;
                }

                if (context.Reporter.Json)
                {
                    Report.Summary(FailedRun(failure.Message), Targets.Source, Targets.Destination, DateTimeOffset.UtcNow, TimeSpan.Zero);
                }
                else
                {
                    Console.Error.WriteLine($"{DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} sxfer: run failed: {failure.Message}");
                }
            }
        }

        /// <summary>A side as the lock knows it: a local directory by its real path (links resolved), a server directory by server, user and path.</summary>
        private static string LockName(SyncSide side, RemoteSession? session)
        {
            if (side.Endpoint is LocalEndpoint local)
            {
                var full = local.Full(side.Root);
                try
                {
                    full = new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
                }
                catch (IOException)
                {
                    // A dangling link: the listing will say so; the path itself names the lock.
                }

                return "local:" + full;
            }

            return side.Endpoint is SecureXferEndpoint && session is not null
                ? $"server:{session.State.Server}:{session.State.User}:{side.Describe(string.Empty)}"
                : "remote:" + side.Describe(string.Empty);
        }

        private sealed class NoSession : IAsyncDisposable
        {
            public static readonly NoSession Instance = new();

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }

        private static SyncResult FailedRun(string message)
        {
            var result = new SyncResult();
            result.Errors.Add(new SyncError(string.Empty, message));
            return result;
        }

        public async Task<SyncResult> OnceAsync(bool live, CancellationToken cancellationToken)
        {
            var session = Targets.NeedsLogin ? await RemoteSession.OpenAsync(context.Store, RenewAhead, cancellationToken).ConfigureAwait(false) : null;
            await using var closing = (session ?? (IAsyncDisposable)NoSession.Instance).ConfigureAwait(false);
            if (options.Checksum)
            {
                _hashes ??= HashCache.Load(Path.Combine(context.Store.Directory, "hash-cache.json"));
            }

            var (source, destination) = Targets.Open(session, transfer, _hashes, remote, context.ParseResult);
            await using var sourceEndpoint = source.Endpoint.ConfigureAwait(false);
            await using var destinationEndpoint = destination.Endpoint.ConfigureAwait(false);
            var sourceName = source.Describe(string.Empty);
            var destinationName = destination.Describe(string.Empty);
            using var held = SyncLock.TryTake(context.Store.Directory, LockName(destination, session), LockName(source, session))
                ?? throw new CliException(ExitCodes.Failure, "sync_running", $"Another sync writing into {destinationName} or {sourceName} is running; this run did nothing.");

            var engine = new SyncEngine(source, destination, options with { BackupDir = Targets.BackupPath(backupDir, destination, session) }, Report);
            var started = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            var plan = await engine.PlanAsync(cancellationToken).ConfigureAwait(false);
            var transfers = plan.Where(a => a.Kind is SyncActionKind.Copy or SyncActionKind.Update).ToList();
            var showBar = live && !options.DryRun && transfers.Count > 0;
            Report.HoldLines = showBar;
            SyncResult result;
            try
            {
                result = await TransferProgress.RunAsync(showBar, transfers.Count, transfers.Sum(a => a.Size), progress =>
                {
                    Report.Progress = progress;
                    return engine.ExecuteAsync(cancellationToken);
                }).ConfigureAwait(false);
            }
            finally
            {
                Report.Progress = null;
                Report.HoldLines = false;
                Report.Flush();
                _hashes?.Save();
            }

            Report.Summary(result, sourceName, destinationName, started, clock.Elapsed);
            return result;
        }
    }
}
