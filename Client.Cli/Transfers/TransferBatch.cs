using System.Diagnostics;
using System.Globalization;
using SecureXfer.Cli.Commands;
using SecureXfer.Cli.Output;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Cli.Transfers;

/// <summary>Runs the files of a plan one after another under one progress display, then reports them.</summary>
internal static class TransferBatch
{
    public static async Task RunAsync(
        CommandContext context,
        IReadOnlyList<TransferItem> items,
        bool upload,
        Func<TransferItem, IProgress<long>?, Task<TransferResult>> transfer)
    {
        var reporter = context.Reporter;
        var clock = Stopwatch.StartNew();
        var done = new List<TransferResult>(items.Count);
        var printAsWeGo = reporter.Human && !context.ShowProgress;
        try
        {
            await TransferProgress.RunAsync(context.ShowProgress, items.Count, items.Sum(i => i.Size), async progress =>
            {
                foreach (var item in items)
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
        var files = done.Select(r => new TransferFileJson(Path.GetFullPath(r.Local), r.Remote, r.Bytes, r.ResumedFrom, r.Sha256)).ToList();
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
