using System.Globalization;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Shared.Sync;

/// <summary>
/// One-way sync of a directory tree from <paramref name="source"/> to <paramref name="destination"/>.
/// A run lists both trees and plans first; then it creates directories, copies and updates files
/// (small ones many at once, large ones one after another, each retried on transient failures),
/// and only when all of that succeeded, deletes. Deleting is refused outright when the source
/// holds no files or the plan deletes more than the limit. Files are written beside their target
/// and renamed into place, so a partial file never replaces a good one; with a backup directory,
/// replaced and deleted files are moved there instead of being destroyed.
/// </summary>
public sealed class SyncEngine(SyncSide source, SyncSide destination, SyncOptions options, ISyncObserver observer)
{
    /// <summary>Names a sync writes for itself (replacements waiting for their backup move) and never syncs.</summary>
    public const string StagingPrefix = ".sxfer-sync-";

    private const int MaxIgnoreFileBytes = 1 << 20;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly List<SyncAction> _plan = [];
    private readonly SyncResult _result = new() { DryRun = options.DryRun };
    private readonly Lock _gate = new();
    private TimeSpan _timeWindow;
    private string? _backupInside;
    private int _sourceFiles;
    private bool _listingFailed;

    /// <summary>Partial downloads (<c>*.sxpart</c>, <c>*.sxpart.json</c>) and a sync's own staging files.</summary>
    public static bool IsInternalName(string name) =>
        name.StartsWith(StagingPrefix, StringComparison.Ordinal)
        || name.EndsWith(".sxpart", StringComparison.Ordinal)
        || name.EndsWith(".sxpart.json", StringComparison.Ordinal);

    private bool _deletesAllowed;
    private bool _planned;

    /// <summary>Plans and runs (or, in a dry run, only plans).</summary>
    public async Task<SyncResult> RunAsync(CancellationToken cancellationToken)
    {
        await PlanAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists both sides and decides what to do; changes nothing.</summary>
    public async Task<IReadOnlyList<SyncAction>> PlanAsync(CancellationToken cancellationToken)
    {
        var destinationExists = await CheckRootsAsync(cancellationToken).ConfigureAwait(false);
        _timeWindow = source.Endpoint.ModifiedPrecision > destination.Endpoint.ModifiedPrecision
            ? source.Endpoint.ModifiedPrecision
            : destination.Endpoint.ModifiedPrecision;

        if (!destinationExists)
        {
            _plan.Add(new SyncAction(SyncActionKind.Mkdir, string.Empty, IsDirectory: true, 0));
        }

        await WalkAsync(string.Empty, destinationExists, options.Filter, afterDeletes: false, cancellationToken).ConfigureAwait(false);
        _deletesAllowed = JudgeDeletes();
        _result.Plan.AddRange(_plan);
        _planned = true;
        observer.Planned(_plan);
        return _plan;
    }

    /// <summary>Carries out the plan made by <see cref="PlanAsync"/>.</summary>
    public async Task<SyncResult> ExecuteAsync(CancellationToken cancellationToken)
    {
        if (!_planned)
        {
            throw new InvalidOperationException("Plan the sync first.");
        }

        var deletesAllowed = _deletesAllowed;
        if (options.DryRun)
        {
            foreach (var action in _plan.Where(a => deletesAllowed || (a.Kind != SyncActionKind.Delete && !a.AfterDeletes)))
            {
                Count(action);
            }

            return _result;
        }

        using var fatal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var state = new RunState(fatal);
        await RunStageAsync(_plan.Where(a => !a.AfterDeletes && a.Kind != SyncActionKind.Delete), state).ConfigureAwait(false);

        // Deletes only follow a run in which every listing and every transfer worked.
        if (deletesAllowed && _result.Errors.Count == 0)
        {
            await RunStageAsync(_plan.Where(a => a.Kind == SyncActionKind.Delete), state).ConfigureAwait(false);
            if (_result.Errors.Count == 0)
            {
                await RunStageAsync(_plan.Where(a => a.AfterDeletes), state).ConfigureAwait(false);
            }
        }
        else if (_plan.Any(a => a.Kind == SyncActionKind.Delete) && deletesAllowed)
        {
            observer.Warn("Nothing was deleted because part of the run failed; the next successful run will delete.");
        }

        return _result;
    }

    /// <summary>The source must be a directory, the destination a directory or nothing, and neither inside the other.</summary>
    private async Task<bool> CheckRootsAsync(CancellationToken cancellationToken)
    {
        var sourceRoot = await RetryAsync(() => source.Endpoint.StatAsync(source.Root, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (sourceRoot is null)
        {
            throw new SyncRefusedException($"The source {source.Describe(string.Empty)} does not exist.", notFound: true);
        }

        if (!sourceRoot.IsDirectory)
        {
            throw new SyncRefusedException($"The source {source.Describe(string.Empty)} is a file; sync copies directories (use put or get for one file).");
        }

        var from = source.Describe(string.Empty).TrimEnd('/') + "/";
        var to = destination.Describe(string.Empty).TrimEnd('/') + "/";
        if (from.StartsWith(to, StringComparison.Ordinal) || to.StartsWith(from, StringComparison.Ordinal))
        {
            throw new SyncRefusedException($"The source {from} and the destination {to} overlap; sync between separate directories.");
        }

        if (options.BackupDir is { } backup && EndpointPaths.IsSameOrBelow(backup, destination.Root))
        {
            if (backup == destination.Root)
            {
                throw new SyncRefusedException("The backup directory cannot be the destination itself.");
            }

            _backupInside = destination.Root.Length == 0 ? backup : backup[(destination.Root.Length + 1)..];
        }

        var destinationRoot = await RetryAsync(() => destination.Endpoint.StatAsync(destination.Root, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (destinationRoot is { IsDirectory: false })
        {
            throw new SyncRefusedException($"The destination {destination.Describe(string.Empty)} is a file, not a directory.");
        }

        return destinationRoot is not null;
    }

    private async Task WalkAsync(string directory, bool destinationHasIt, SyncFilter filter, bool afterDeletes, CancellationToken cancellationToken)
    {
        var sourceEntries = await ListOrNullAsync(source, directory, cancellationToken).ConfigureAwait(false);
        if (sourceEntries is null)
        {
            return;
        }

        if (sourceEntries.FirstOrDefault(e => e.Name == SyncFilter.IgnoreFileName && !e.IsDirectory) is { } ignoreFile)
        {
            try
            {
                filter = filter.WithIgnoreFile(directory, await ReadIgnoreFileAsync(EndpointPaths.Join(directory, ignoreFile.Name), ignoreFile, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (IsPerFile(ex, cancellationToken))
            {
                // Without its rules nothing below is known to be wanted or protected: leave it all alone.
                ListingFailed(source.Describe(EndpointPaths.Join(directory, SyncFilter.IgnoreFileName)), ex);
                return;
            }
        }

        IReadOnlyList<EndpointEntry> destinationEntries = [];
        if (destinationHasIt)
        {
            if (await ListOrNullAsync(destination, directory, cancellationToken).ConfigureAwait(false) is not { } listed)
            {
                return;
            }

            destinationEntries = listed;
        }

        var sources = Named(sourceEntries, source, directory);
        var destinations = Named(destinationEntries, destination, directory);
        foreach (var name in sources.Keys.Union(destinations.Keys).Order(StringComparer.Ordinal))
        {
            var path = EndpointPaths.Join(directory, name);
            if (_backupInside is not null && EndpointPaths.IsSameOrBelow(path, _backupInside))
            {
                continue;
            }

            var from = sources.GetValueOrDefault(name);
            var to = destinations.GetValueOrDefault(name);
            if (filter.Excludes(path, (from ?? to)!.IsDirectory))
            {
                continue;
            }

            switch (from, to)
            {
                case ({ IsDirectory: true }, null):
                    _plan.Add(new SyncAction(SyncActionKind.Mkdir, path, IsDirectory: true, 0) { AfterDeletes = afterDeletes });
                    await WalkAsync(path, destinationHasIt: false, filter, afterDeletes, cancellationToken).ConfigureAwait(false);
                    break;
                case ({ IsDirectory: false }, null):
                    _sourceFiles++;
                    _plan.Add(new SyncAction(SyncActionKind.Copy, path, IsDirectory: false, from.Size) { AfterDeletes = afterDeletes });
                    break;
                case ({ IsDirectory: true }, { IsDirectory: true }):
                    await WalkAsync(path, destinationHasIt: true, filter, afterDeletes, cancellationToken).ConfigureAwait(false);
                    break;
                case ({ IsDirectory: false }, { IsDirectory: false }):
                    _sourceFiles++;
                    await CompareAsync(path, from, to, afterDeletes, cancellationToken).ConfigureAwait(false);
                    break;
                case (not null, not null):
                    // A file where the other side has a directory, or the reverse.
                    if (!from.IsDirectory)
                    {
                        _sourceFiles++;
                    }

                    if (!options.Delete)
                    {
                        Fail(path, $"{destination.Describe(path)} is a {Kind(to)} but the source has a {Kind(from)} there; --delete replaces it.");
                        break;
                    }

                    await PlanDeleteAsync(path, to, filter, cancellationToken).ConfigureAwait(false);
                    if (from.IsDirectory)
                    {
                        _plan.Add(new SyncAction(SyncActionKind.Mkdir, path, IsDirectory: true, 0) { AfterDeletes = true });
                        await WalkAsync(path, destinationHasIt: false, filter, afterDeletes: true, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        _plan.Add(new SyncAction(SyncActionKind.Copy, path, IsDirectory: false, from.Size) { AfterDeletes = true });
                    }

                    break;
                case (null, not null) when options.Delete:
                    await PlanDeleteAsync(path, to, filter, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    private static string Kind(EndpointEntry entry) => entry.IsDirectory ? "directory" : "file";

    /// <summary>Entries by name, without internal files and without names that could step out of the directory.</summary>
    private Dictionary<string, EndpointEntry> Named(IReadOnlyList<EndpointEntry> entries, SyncSide side, string directory)
    {
        var named = new Dictionary<string, EndpointEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (IsInternalName(entry.Name))
            {
                continue;
            }

            if (!EndpointPaths.IsUsableName(entry.Name))
            {
                observer.Warn($"skipping an entry named '{entry.Name}' in {side.Describe(directory)}: not a usable file name.");
                continue;
            }

            named[entry.Name] = entry;
        }

        return named;
    }

    private async Task CompareAsync(string path, EndpointEntry from, EndpointEntry to, bool afterDeletes, CancellationToken cancellationToken)
    {
        var sameTime = (from.Modified - to.Modified).Duration() < _timeWindow;
        var update = new SyncAction(SyncActionKind.Update, path, IsDirectory: false, from.Size) { AfterDeletes = afterDeletes };
        if (from.Size != to.Size || (!options.Checksum && !sameTime))
        {
            _plan.Add(update);
            return;
        }

        if (!options.Checksum)
        {
            _result.Unchanged++;
            return;
        }

        string? fromHash, toHash;
        try
        {
            fromHash = await source.Endpoint.HashAsync(source.PathOf(path), from, cancellationToken).ConfigureAwait(false);
            toHash = await destination.Endpoint.HashAsync(destination.PathOf(path), to, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsPerFile(ex, cancellationToken))
        {
            Fail(path, $"{path}: cannot compute its SHA-256: {ex.Message}");
            return;
        }

        if (fromHash is null || toHash is null || !string.Equals(fromHash, toHash, StringComparison.OrdinalIgnoreCase))
        {
            _plan.Add(update);
            return;
        }

        _result.Unchanged++;
        if (!sameTime)
        {
            _plan.Add(new SyncAction(SyncActionKind.Touch, path, IsDirectory: false, 0) { AfterDeletes = afterDeletes, Modified = from.Modified });
        }
    }

    /// <summary>
    /// Plans removing <paramref name="entry"/>. A directory goes whole when nothing in it is
    /// protected by the filter; otherwise only its unprotected parts go.
    /// </summary>
    private async Task PlanDeleteAsync(string path, EndpointEntry entry, SyncFilter filter, CancellationToken cancellationToken)
    {
        var (whole, files, parts) = await CollectDeleteAsync(path, entry, filter, cancellationToken).ConfigureAwait(false);
        if (whole)
        {
            _plan.Add(new SyncAction(SyncActionKind.Delete, path, entry.IsDirectory, entry.IsDirectory ? 0 : entry.Size, files));
        }
        else
        {
            _plan.AddRange(parts);
        }
    }

    private async Task<(bool Whole, int Files, List<SyncAction> Parts)> CollectDeleteAsync(string path, EndpointEntry entry, SyncFilter filter, CancellationToken cancellationToken)
    {
        if (!entry.IsDirectory)
        {
            return (true, 1, [new SyncAction(SyncActionKind.Delete, path, IsDirectory: false, entry.Size)]);
        }

        var children = await ListOrNullAsync(destination, path, cancellationToken).ConfigureAwait(false);
        if (children is null)
        {
            return (false, 0, []);
        }

        var whole = true;
        var files = 0;
        var parts = new List<SyncAction>();
        foreach (var child in children.Where(c => !IsInternalName(c.Name) && EndpointPaths.IsUsableName(c.Name)))
        {
            var childPath = EndpointPaths.Join(path, child.Name);
            if ((_backupInside is not null && EndpointPaths.IsSameOrBelow(childPath, _backupInside)) || filter.Excludes(childPath, child.IsDirectory))
            {
                whole = false;
                continue;
            }

            var (childWhole, childFiles, childParts) = await CollectDeleteAsync(childPath, child, filter, cancellationToken).ConfigureAwait(false);
            whole &= childWhole;
            files += childFiles;
            if (childWhole)
            {
                parts.Add(new SyncAction(SyncActionKind.Delete, childPath, child.IsDirectory, child.IsDirectory ? 0 : child.Size, childFiles));
            }
            else
            {
                parts.AddRange(childParts);
            }
        }

        return (whole, files, parts);
    }

    /// <summary>Whether the planned deletes may run: not after a failed listing, not from an empty source, not past the limit.</summary>
    private bool JudgeDeletes()
    {
        var deletes = _plan.Where(a => a.Kind == SyncActionKind.Delete).ToList();
        if (deletes.Count == 0)
        {
            return true;
        }

        var count = deletes.Sum(a => Math.Max(1, a.Files));
        if (_listingFailed)
        {
            Fail(string.Empty, $"Not deleting {count} item(s) at {destination.Describe(string.Empty)}: a listing failed, so what is missing at the source is not known.");
            return false;
        }

        if (_sourceFiles == 0)
        {
            Fail(string.Empty, $"Refusing to delete {count} item(s) at {destination.Describe(string.Empty)}: the source {source.Describe(string.Empty)} holds no files, as an unmounted or wrong source would. Delete them by hand if that is intended.");
            return false;
        }

        if (count > options.MaxDelete)
        {
            Fail(string.Empty, $"Refusing to delete {count} item(s) at {destination.Describe(string.Empty)}: more than --max-delete {options.MaxDelete.ToString(CultureInfo.InvariantCulture)}. Nothing was deleted; raise the limit if this is intended.");
            return false;
        }

        return true;
    }

    private async Task<IReadOnlyList<EndpointEntry>?> ListOrNullAsync(SyncSide side, string directory, CancellationToken cancellationToken)
    {
        try
        {
            return await RetryAsync(() => side.Endpoint.ListAsync(side.PathOf(directory), cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsPerFile(ex, cancellationToken))
        {
            ListingFailed(side.Describe(directory), ex);
            return null;
        }
    }

    private void ListingFailed(string where, Exception error)
    {
        _listingFailed = true;
        Fail(where, $"Cannot list {where}: {error.Message}");
    }

    private async Task<string> ReadIgnoreFileAsync(string path, EndpointEntry entry, CancellationToken cancellationToken)
    {
        if (entry.Size > MaxIgnoreFileBytes)
        {
            throw new IOException($"{SyncFilter.IgnoreFileName} is larger than {MaxIgnoreFileBytes} bytes.");
        }

        if (source.Endpoint is LocalEndpoint local)
        {
            return await File.ReadAllTextAsync(local.Full(source.PathOf(path)), cancellationToken).ConfigureAwait(false);
        }

        var temporary = Path.Combine(Path.GetTempPath(), "sxfer-ignore-" + Guid.NewGuid().ToString("N"));
        try
        {
            await source.Endpoint.DownloadAsync(source.PathOf(path), temporary, null, cancellationToken).ConfigureAwait(false);
            return await File.ReadAllTextAsync(temporary, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Runs one stage: directories first, in plan order (parents before children), then small
    /// transfers and time fixes many at once, then large transfers one by one, then deletes.
    /// </summary>
    private async Task RunStageAsync(IEnumerable<SyncAction> actions, RunState state)
    {
        try
        {
            await RunActionsAsync(actions.ToList(), state).ConfigureAwait(false);
        }
        catch (Exception) when (state.HasFatal)
        {
            // Whatever the other transfers saw (cancellation, mostly), the failure that stopped them is the one to report.
            state.ThrowIfFatal();
            throw;
        }
    }

    private async Task RunActionsAsync(List<SyncAction> list, RunState state)
    {
        foreach (var action in list.Where(a => a.Kind == SyncActionKind.Mkdir))
        {
            await RunOneAsync(action, state, progress: false).ConfigureAwait(false);
        }

        bool Quick(SyncAction a) => a.Kind == SyncActionKind.Touch
            || (a.Kind is SyncActionKind.Copy or SyncActionKind.Update && source.Endpoint.RunsConcurrently(a.Size) && destination.Endpoint.RunsConcurrently(a.Size));

        using (var slots = new SemaphoreSlim(Math.Max(1, options.Concurrency)))
        {
            var running = new List<Task>();
            foreach (var action in list.Where(Quick))
            {
                await slots.WaitAsync(state.Token).ConfigureAwait(false);
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await RunOneAsync(action, state, progress: false).ConfigureAwait(false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
            }

            await Task.WhenAll(running).ConfigureAwait(false);
        }

        foreach (var action in list.Where(a => a.Kind is SyncActionKind.Copy or SyncActionKind.Update && !Quick(a)))
        {
            await RunOneAsync(action, state, progress: true).ConfigureAwait(false);
        }

        foreach (var action in list.Where(a => a.Kind == SyncActionKind.Delete))
        {
            await RunOneAsync(action, state, progress: false).ConfigureAwait(false);
        }

        state.ThrowIfFatal();
    }

    private async Task RunOneAsync(SyncAction action, RunState state, bool progress)
    {
        var cancellationToken = state.Token;
        if (cancellationToken.IsCancellationRequested)
        {
            state.ThrowIfFatal();
            cancellationToken.ThrowIfCancellationRequested();
        }

        try
        {
            var sink = progress ? observer.Starting(action) : null;
            var transfer = await ExecuteAsync(action, sink, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                Count(action);
                _result.Resumed += transfer?.ResumedFrom ?? 0;
            }

            observer.Done(action, transfer);
        }
        catch (Exception ex) when (TransientErrors.IsFatal(ex))
        {
            state.Fatal(ex);
            throw;
        }
        catch (Exception ex) when (IsPerFile(ex, cancellationToken))
        {
            Fail(action.Path, $"{Verb(action)} {Where(action)} failed: {ex.Message}");
        }
    }

    private void Count(SyncAction action)
    {
        switch (action.Kind)
        {
            case SyncActionKind.Copy:
                _result.Copied++;
                _result.Bytes += action.Size;
                break;
            case SyncActionKind.Update:
                _result.Updated++;
                _result.Bytes += action.Size;
                break;
            case SyncActionKind.Delete:
                _result.Deleted += Math.Max(1, action.Files);
                break;
        }
    }

    private static string Verb(SyncAction action) => action.Kind switch
    {
        SyncActionKind.Mkdir => "Creating",
        SyncActionKind.Copy => "Copying",
        SyncActionKind.Update => "Updating",
        SyncActionKind.Touch => "Setting the time of",
        _ => "Deleting",
    };

    private string Where(SyncAction action) =>
        action.Kind == SyncActionKind.Copy || action.Kind == SyncActionKind.Update
            ? $"{source.Describe(action.Path)} to {destination.Describe(action.Path)}"
            : destination.Describe(action.Path);

    private async Task<EndpointTransfer?> ExecuteAsync(SyncAction action, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var target = destination.PathOf(action.Path);
        switch (action.Kind)
        {
            case SyncActionKind.Mkdir:
                await RetryAsync(() => destination.Endpoint.MkdirAsync(target, cancellationToken), cancellationToken).ConfigureAwait(false);
                return null;
            case SyncActionKind.Touch:
                await RetryAsync(() => destination.Endpoint.SetModifiedAsync(target, action.Modified, cancellationToken), cancellationToken).ConfigureAwait(false);
                return null;
            case SyncActionKind.Delete when options.BackupDir is not null:
                await BackupAsync(action.Path, cancellationToken).ConfigureAwait(false);
                return null;
            case SyncActionKind.Delete:
                await RetryAsync(() => destination.Endpoint.DeleteAsync(target, cancellationToken), cancellationToken).ConfigureAwait(false);
                return null;
            case SyncActionKind.Update when options.BackupDir is not null:
            {
                // The new version is complete beside the old one before the old one moves to the backup.
                var staging = EndpointPaths.Join(EndpointPaths.Parent(action.Path), StagingPrefix + EndpointPaths.Name(action.Path));
                var transfer = await RetryAsync(() => CopyAsync(action.Path, staging, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
                await BackupAsync(action.Path, cancellationToken).ConfigureAwait(false);
                await RetryAsync(() => destination.Endpoint.RenameAsync(destination.PathOf(staging), target, cancellationToken), cancellationToken).ConfigureAwait(false);
                return transfer;
            }

            default:
                return await RetryAsync(() => CopyAsync(action.Path, action.Path, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Moves a destination file or directory into the backup directory, under a new name if an older backup is there.</summary>
    private async Task BackupAsync(string path, CancellationToken cancellationToken)
    {
        var backup = EndpointPaths.Join(options.BackupDir!, path);
        await RetryAsync(() => destination.Endpoint.MkdirAsync(EndpointPaths.Parent(backup), cancellationToken), cancellationToken).ConfigureAwait(false);
        if (await destination.Endpoint.StatAsync(backup, cancellationToken).ConfigureAwait(false) is not null)
        {
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            var candidate = $"{backup}.{stamp}";
            for (var n = 2; await destination.Endpoint.StatAsync(candidate, cancellationToken).ConfigureAwait(false) is not null; n++)
            {
                candidate = $"{backup}.{stamp}-{n.ToString(CultureInfo.InvariantCulture)}";
            }

            backup = candidate;
        }

        await RetryAsync(() => destination.Endpoint.RenameAsync(destination.PathOf(path), backup, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies a source file to a destination path. A local side is read or written in place by the
    /// other endpoint's own transfer (resumable where it can); two remote sides relay through a temporary file.
    /// </summary>
    private async Task<EndpointTransfer> CopyAsync(string path, string targetPath, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var from = source.PathOf(path);
        var to = destination.PathOf(targetPath);
        if (destination.Endpoint is LocalEndpoint localTarget)
        {
            return await source.Endpoint.DownloadAsync(from, localTarget.Full(to), progress, cancellationToken).ConfigureAwait(false);
        }

        if (source.Endpoint is LocalEndpoint localSource)
        {
            return await destination.Endpoint.UploadAsync(localSource.Full(from), to, progress, cancellationToken).ConfigureAwait(false);
        }

        var relay = Path.Combine(Path.GetTempPath(), "sxfer-relay-" + Guid.NewGuid().ToString("N"));
        try
        {
            await source.Endpoint.DownloadAsync(from, relay, null, cancellationToken).ConfigureAwait(false);
            return await destination.Endpoint.UploadAsync(relay, to, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(relay);
            File.Delete(relay + ".sxpart");
            File.Delete(relay + ".sxpart.json");
        }
    }

    private async Task RetryAsync(Func<Task> operation, CancellationToken cancellationToken) =>
        await RetryAsync(async () =>
        {
            await operation().ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>Runs <paramref name="operation"/>, again after transient failures, waiting longer each time.</summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        var delay = options.RetryDelay;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < options.Retries && !cancellationToken.IsCancellationRequested && TransientErrors.IsTransient(ex))
            {
                observer.Warn($"{ex.Message} Trying again in {delay.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s.");
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;
            }
        }
    }

    /// <summary>A failure that concerns one file or directory: recorded, and the run goes on.</summary>
    private static bool IsPerFile(Exception error, CancellationToken cancellationToken) =>
        !TransientErrors.IsFatal(error) && !(error is OperationCanceledException && cancellationToken.IsCancellationRequested)
        && error is not OutOfMemoryException;

    private void Fail(string path, string message)
    {
        var error = new SyncError(path, message);
        lock (_gate)
        {
            _result.Errors.Add(error);
        }

        observer.Failed(error);
    }

    /// <summary>The cancellation shared by one run's transfers, and the failure that ended it early.</summary>
    private sealed class RunState(CancellationTokenSource cancellation)
    {
        private Exception? _fatal;

        public CancellationToken Token => cancellation.Token;

        public bool HasFatal => Volatile.Read(ref _fatal) is not null;

        public void Fatal(Exception error)
        {
            Interlocked.CompareExchange(ref _fatal, error, null);
            cancellation.Cancel();
        }

        public void ThrowIfFatal()
        {
            if (Volatile.Read(ref _fatal) is { } error)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }
    }
}
