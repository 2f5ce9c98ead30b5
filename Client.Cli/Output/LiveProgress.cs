using Spectre.Console;

namespace SecureXfer.Cli.Output;

/// <summary>A progress bar on stderr with bytes, rate and time left; an overall bar too when there are several files.</summary>
internal sealed class LiveProgress : TransferProgress
{
    private const int LabelWidth = 40;

    private readonly ProgressContext _context;
    private readonly ProgressTask? _overall;
    private ProgressTask? _current;
    private long _finished;

    private LiveProgress(ProgressContext context, int files, long totalBytes)
    {
        _context = context;
        if (files > 1)
        {
            _overall = context.AddTask($"{files} files", maxValue: Math.Max(1, totalBytes));
        }
    }

    public static Task<T> RunAsync<T>(int files, long totalBytes, Func<TransferProgress, Task<T>> work)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(context => work(new LiveProgress(context, files, totalBytes)));
    }

    public override IProgress<long> Start(string label, long size)
    {
        var task = _context.AddTask(Markup.Escape(Shorten(label)), maxValue: Math.Max(1, size));
        _current = task;
        return new Sink(this, task);
    }

    public override void Finish(long size)
    {
        if (_current is { } task)
        {
            task.Value = task.MaxValue;
            task.StopTask();
        }

        _finished += size;
        if (_overall is not null)
        {
            _overall.Value = _finished;
        }
    }

    private static string Shorten(string label) =>
        label.Length <= LabelWidth ? label : "…" + label[^(LabelWidth - 1)..];

    private sealed class Sink(LiveProgress owner, ProgressTask task) : IProgress<long>
    {
        private long _highest;

        public void Report(long value)
        {
            // Parallel lanes report out of order; the bar only moves forward.
            var highest = Interlocked.Read(ref _highest);
            while (value > highest)
            {
                var seen = Interlocked.CompareExchange(ref _highest, value, highest);
                if (seen == highest)
                {
                    task.Value = value;
                    if (owner._overall is { } overall)
                    {
                        overall.Value = Interlocked.Read(ref owner._finished) + value;
                    }

                    return;
                }

                highest = seen;
            }
        }
    }
}
