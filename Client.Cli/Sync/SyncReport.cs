using System.Globalization;
using System.Text.Json;
using SecureXfer.Cli.Output;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Cli.Sync;

/// <summary>
/// What a sync prints: a line per file copied, updated or deleted (or planned, in a dry run),
/// problems on stderr as they happen, and a summary per run; with --json, exactly one object
/// per run, one per line.
/// </summary>
internal sealed class SyncReport(Reporter reporter) : ISyncObserver
{
    private readonly Lock _gate = new();
    private readonly List<string> _held = [];

    /// <summary>Lines start with the local time (in scheduled runs, which end up in logs).</summary>
    public bool Timestamps { get; set; }

    /// <summary>The progress display of the run in progress.</summary>
    public TransferProgress? Progress { get; set; }

    /// <summary>Per-file lines wait until a live progress bar has gone, so they do not tear it.</summary>
    public bool HoldLines { get; set; }

    public void Planned(IReadOnlyList<SyncAction> plan)
    {
    }

    public IProgress<long>? Starting(SyncAction action) => Progress?.Start(action.Path, action.Size);

    public void Done(SyncAction action, EndpointTransfer? transfer)
    {
        if (action.Kind is SyncActionKind.Copy or SyncActionKind.Update)
        {
            Progress?.Finish(action.Size);
        }

        var verb = action.Kind switch
        {
            SyncActionKind.Copy => "copied",
            SyncActionKind.Update => "updated",
            SyncActionKind.Delete => "deleted",
            _ => null,
        };
        if (verb is null)
        {
            return;
        }

        var line = $"{verb} {Describe(action)}";
        if (transfer is { ResumedFrom: > 0 } resumed)
        {
            line += $" (resumed at {Sizes.Format(resumed.ResumedFrom)})";
        }

        Print(line);
    }

    public void Failed(SyncError error)
    {
        if (!reporter.Json)
        {
            Console.Error.WriteLine(Stamp() + "sxfer: error: " + error.Message);
        }
    }

    public void Warn(string message)
    {
        if (!reporter.Json)
        {
            reporter.Warn(message);
        }
    }

    /// <summary>Prints the lines held back during a live progress display.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            foreach (var line in _held)
            {
                reporter.Line(line);
            }

            _held.Clear();
        }
    }

    /// <summary>The summary of one run: a JSON object, or the dry-run plan and one line.</summary>
    public void Summary(SyncResult result, string source, string destination, DateTimeOffset started, TimeSpan took)
    {
        Flush();
        if (reporter.Json)
        {
            var plan = result.DryRun
                ? result.Plan.Select(a => new SyncPlanJson(ActionName(a.Kind), a.Path, a.IsDirectory ? "dir" : "file", a.Size)).ToList()
                : null;
            var run = new SyncRunJson(result.Copied, result.Updated, result.Deleted, result.Unchanged, result.Bytes, result.Resumed,
                [.. result.Errors.Select(e => new SyncErrorJson(e.Path, e.Message))], result.DryRun, source, destination, started,
                Math.Round(took.TotalSeconds, 3), plan);
            Console.Out.WriteLine(JsonSerializer.Serialize(run, CliJson.Context.SyncRunJson));
            Console.Out.Flush();
            return;
        }

        if (result.DryRun)
        {
            foreach (var action in result.Plan)
            {
                reporter.Line($"would {ActionName(action.Kind)} {Describe(action)}");
            }
        }

        var errors = result.Errors.Count == 1 ? "1 error" : $"{result.Errors.Count} errors";
        reporter.Line(result.DryRun
            ? string.Create(CultureInfo.InvariantCulture, $"dry run {source} -> {destination}: would copy {result.Copied}, update {result.Updated}, delete {result.Deleted} ({Sizes.Format(result.Bytes)}); {result.Unchanged} unchanged, {errors}; nothing was changed")
            : string.Create(CultureInfo.InvariantCulture, $"{Stamp()}sync {source} -> {destination}: {result.Copied} copied, {result.Updated} updated, {result.Deleted} deleted, {result.Unchanged} unchanged, {Sizes.Format(result.Bytes)}, {errors} ({took.TotalSeconds:0.0##} s)"));
    }

    /// <summary>A scheduler's own message (next run, skipped run), stamped in human mode.</summary>
    public void Note(string message)
    {
        if (!reporter.Json)
        {
            reporter.Line(Stamp() + message);
        }
    }

    private void Print(string line)
    {
        if (!reporter.Human)
        {
            return;
        }

        lock (_gate)
        {
            if (HoldLines)
            {
                _held.Add(line);
            }
            else
            {
                Console.Out.WriteLine(Stamp() + line);
            }
        }
    }

    private string Stamp() =>
        Timestamps ? DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss ", CultureInfo.InvariantCulture) : string.Empty;

    private static string Describe(SyncAction action) => action switch
    {
        { IsDirectory: true, Kind: SyncActionKind.Delete } => $"{action.Path}/ ({(action.Files == 1 ? "1 file" : $"{action.Files} files")})",
        { IsDirectory: true } => action.Path.Length == 0 ? "./" : action.Path + "/",
        _ => $"{action.Path} ({Sizes.Format(action.Size)})",
    };

    private static string ActionName(SyncActionKind kind) => kind switch
    {
        SyncActionKind.Mkdir => "mkdir",
        SyncActionKind.Copy => "copy",
        SyncActionKind.Update => "update",
        SyncActionKind.Touch => "touch",
        _ => "delete",
    };
}
