using System.Diagnostics;
using System.Globalization;
using SecureXfer.Cli.Commands;
using SecureXfer.Cli.Output;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Cli.Transfers;

/// <summary>
/// Runs the files of a plan under one progress display, then reports them. Files that can go in
/// one request (<paramref name="whole"/> gives a runner for them) go first, many at once; the
/// others follow one after another, each with its own lanes.
/// </summary>
internal static class TransferBatch
{
    /// <summary>Whole-file requests in flight at once.</summary>
    private const int WholeInFlight = 256;

    public static async Task RunAsync(
        CommandContext context,
        IReadOnlyList<TransferItem> items,
        bool upload,
        Func<TransferItem, IProgress<long>?, Task<TransferResult>> transfer,
        Func<TransferItem, Func<Task<TransferResult>>?>? whole = null)
    {
        var reporter = context.Reporter;
        var clock = Stopwatch.StartNew();
        var done = new List<TransferResult>(items.Count);
        var printAsWeGo = reporter.Human && !context.ShowProgress;
        try
        {
            await TransferProgress.RunAsync(context.ShowProgress, items.Count, items.Sum(i => i.Size), async progress =>
            {
                var runners = items.Select(item => whole?.Invoke(item)).ToList();
                await RunWholeAsync(items, runners, result =>
                {
                    lock (done)
                    {
                        progress.Finish(result.Bytes);
                        done.Add(result);
                        if (printAsWeGo)
                        {
                            Console.Out.WriteLine(Describe(result, upload));
                        }
                    }
                }).ConfigureAwait(false);

                foreach (var item in items.Where((_, i) => runners[i] is null))
                {
                    var sink = progress.Start(upload ? Path.GetFileName(item.Local) : item.Remote, item.Size);
                    var result = await transfer(item, sink).ConfigureAwait(false);
                    progress.Finish(item.Size);
                    done.Add(result);
                    if (printAsWeGo)
                    {
                        Console.Out.WriteLine(Describe(result, upload));
                    }
                }

                return done.Count;
            }).ConfigureAwait(false);
        }
        finally
        {
            if (reporter.Human && !printAsWeGo)
            {
                foreach (var result in done)
                {
                    Console.Out.WriteLine(Describe(result, upload));
                }
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var total = done.Sum(r => r.Bytes);
        var files = done.Select(r => new TransferFileJson(Path.GetFullPath(r.Local), r.Remote, r.Bytes, r.ResumedFrom, r.Sha256.Length == 0 ? null : r.Sha256)).ToList();
        reporter.Result(
            new TransferJson(files, total, Math.Round(seconds, 3)),
            CliJson.Context.TransferJson,
            () =>
            {
                var rate = seconds > 0 ? Sizes.Format((long)(total / seconds)) + "/s" : "-";
                var count = done.Count == 1 ? "1 file" : $"{done.Count} files";
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count}, {Sizes.Format(total)} in {seconds:0.0##} s ({rate})"));
            });
    }

    /// <summary>Runs the whole-file requests, up to <see cref="WholeInFlight"/> at a time; after a failure no new one starts.</summary>
    private static async Task RunWholeAsync(IReadOnlyList<TransferItem> items, List<Func<Task<TransferResult>>?> runners, Action<TransferResult> finished)
    {
        using var slots = new SemaphoreSlim(WholeInFlight, WholeInFlight);
        var running = new List<Task>();
        var failed = false;
        for (var i = 0; i < items.Count && !Volatile.Read(ref failed); i++)
        {
            if (runners[i] is not { } run)
            {
                continue;
            }

            await slots.WaitAsync().ConfigureAwait(false);
            running.Add(Task.Run(async () =>
            {
                try
                {
                    finished(await run().ConfigureAwait(false));
                }
                catch
                {
                    Volatile.Write(ref failed, true);
                    throw;
                }
                finally
                {
                    slots.Release();
                }
            }));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private static string Describe(TransferResult result, bool upload)
    {
        var line = upload ? $"{result.Local} -> {result.Remote}" : $"{result.Remote} -> {result.Local}";
        line += "  " + Sizes.Format(result.Bytes);
        if (result.ResumedFrom > 0)
        {
            line += $" (resumed at {Sizes.Format(result.ResumedFrom)})";
        }

        return line;
    }
}
