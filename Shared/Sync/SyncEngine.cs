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
    private bool _warnedNoHashes;

    /// <summary>The staging name of a replacement: fixed length, so a long name cannot outgrow the file system's limit.</summary>
    private static string StagingName(string name) =>
        StagingPrefix + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..24];

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
        var sourcePrecision = await source.Endpoint.ModifiedPrecisionAsync(source.Root, cancellationToken).ConfigureAwait(false);
        var destinationPrecision = destinationExists
            ? await destination.Endpoint.ModifiedPrecisionAsync(destination.Root, cancellationToken).ConfigureAwait(false)
            : TimeSpan.FromTicks(1);
        _timeWindow = sourcePrecision > destinationPrecision ? sourcePrecision : destinationPrecision;

        if (!destinationExists)
        {
            _plan.Add(new SyncAction(SyncActionKind.Mkdir, string.Empty, IsDirectory: true, 0));
        }

        await WalkAsync(string.Empty, string.Empty, destinationExists, options.Filter, afterDeletes: false, cancellationToken).ConfigureAwait(false);
        _deletesAllowed = JudgeDeletes();
        if (!_deletesAllowed)
        {
            // Refused deletes, and what would have followed them, are not part of the plan.
            _plan.RemoveAll(a => a.Kind == SyncActionKind.Delete || a.AfterDeletes);
        }

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
            foreach (var action in _plan)
            {
                Count(action);
            }

            return _result;
        }

        using var fatal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var state = new RunState(fatal);
        await RunStageAsync(_plan.Where(a => !a.AfterDeletes && a.Kind != SyncActionKind.Delete), state).ConfigureAwait(false);

        // Deletes only follow a run in which every listing and every transfer worked.
        if (deletesAllowed && _result.Errors.Count == 0 && _plan.Any(a => a.Kind == SyncActionKind.Delete || a.AfterDeletes))
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

        if (options.BackupDir is { } outer && EndpointPaths.IsSameOrBelow(destination.Root, outer))
        {
            throw new SyncRefusedException($"The backup directory {destination.Endpoint.Describe(outer)} contains the destination; choose one outside it or inside it.");
        }

        var destinationRoot = await RetryAsync(() => destination.Endpoint.StatAsync(destination.Root, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (destinationRoot is { IsDirectory: false })
        {
            throw new SyncRefusedException($"The destination {destination.Describe(string.Empty)} is a file, not a directory.");
        }

        return destinationRoot is not null;
    }

    /// <summary>
    /// Plans one directory: <paramref name="sourceDirectory"/> at the source and
    /// <paramref name="directory"/> at the destination (the same path, unless a name differs in
    /// Unicode normalisation). Filters and the backup directory apply to destination paths.
    /// </summary>
    private async Task WalkAsync(string sourceDirectory, string directory, bool destinationHasIt, SyncFilter filter, bool afterDeletes, CancellationToken cancellationToken)
    {
        var sourceEntries = await ListOrNullAsync(source, sourceDirectory, cancellationToken).ConfigureAwait(false);
        if (sourceEntries is null)
        {
            return;
        }

        if (sourceEntries.FirstOrDefault(e => e.Name == SyncFilter.IgnoreFileName && e.IsFile) is { } ignoreFile)
        {
            try
            {
                filter = filter.WithIgnoreFile(directory, await ReadIgnoreFileAsync(EndpointPaths.Join(sourceDirectory, ignoreFile.Name), ignoreFile, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (IsPerFile(ex, cancellationToken))
            {
                // Without its rules nothing below is known to be wanted or protected: leave it all alone.
                ListingFailed(source.Describe(EndpointPaths.Join(sourceDirectory, SyncFilter.IgnoreFileName)), ex);
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

        var skipped = new HashSet<string>(StringComparer.Ordinal);
        var sources = Named(sourceEntries, source, sourceDirectory, skipped);
        var destinations = Named(destinationEntries, destination, directory, skipped);
        foreach (var key in sources.Keys.Union(destinations.Keys).Order(StringComparer.Ordinal))
        {
            // A name skipped on either side is left alone on both: nothing copied, nothing deleted.
            if (skipped.Contains(key))
            {
                continue;
            }

            var from = sources.GetValueOrDefault(key);
            var to = destinations.GetValueOrDefault(key);
            var sourcePath = from is null ? null : EndpointPaths.Join(sourceDirectory, from.Name);
            var path = EndpointPaths.Join(directory, to?.Name ?? from!.Name);
            if (from is { Kind: EntryKind.Other })
            {
                observer.Warn($"skipping {source.Describe(sourcePath!)}: not a regular file or a directory (a link to a directory, a dangling link, a FIFO, a socket or a device).");
                continue;
            }

            if (from is not null && to is null && !destination.Endpoint.AcceptsName(from.Name))
            {
                observer.Warn($"skipping {source.Describe(sourcePath!)}: the destination cannot hold a file of that name.");
                continue;
            }

            if ((_backupInside is not null && EndpointPaths.IsSameOrBelow(path, _backupInside)) || filter.Excludes(path, (from ?? to)!.IsDirectory))
            {
                continue;
            }

            var named = sourcePath == path ? null : sourcePath;
            switch (from, to)
            {
                case ({ IsDirectory: true }, null):
                    _plan.Add(new SyncAction(SyncActionKind.Mkdir, path, IsDirectory: true, 0) { AfterDeletes = afterDeletes, SourcePath = named });
                    await WalkAsync(sourcePath!, path, destinationHasIt: false, filter, afterDeletes, cancellationToken).ConfigureAwait(false);
                    break;
                case ({ IsFile: true }, null):
                    _sourceFiles++;
                    _plan.Add(new SyncAction(SyncActionKind.Copy, path, IsDirectory: false, from.Size) { AfterDeletes = afterDeletes, SourcePath = named });
                    break;
                case ({ IsDirectory: true }, { IsDirectory: true }):
                    await WalkAsync(sourcePath!, path, destinationHasIt: true, filter, afterDeletes, cancellationToken).ConfigureAwait(false);
                    break;
                case ({ IsFile: true }, { IsFile: true }):
                    _sourceFiles++;
                    await CompareAsync(path, named, from, to, afterDeletes, cancellationToken).ConfigureAwait(false);
                    break;
                case (not null, not null):
                    // A file where the destination has a directory, a link or a special file, or the reverse.
                    if (from.IsFile)
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
                        _plan.Add(new SyncAction(SyncActionKind.Mkdir, path, IsDirectory: true, 0) { AfterDeletes = true, SourcePath = named });
                        await WalkAsync(sourcePath!, path, destinationHasIt: false, filter, afterDeletes: true, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        _plan.Add(new SyncAction(SyncActionKind.Copy, path, IsDirectory: false, from.Size) { AfterDeletes = true, SourcePath = named });
                    }

                    break;
                case (null, not null) when options.Delete:
                    await PlanDeleteAsync(path, to, filter, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    private static string Kind(EndpointEntry entry) => entry.Kind switch
    {
        EntryKind.Directory => "directory",
        EntryKind.File => "file",
        _ => "link or special file",
    };

    /// <summary>
    /// Entries by their name in Unicode NFC (the form the server stores), without internal files
    /// and without names that could step out of the directory. Two names of one directory that
    /// differ only in normalisation cannot be told apart on the other side: both are skipped.
    /// </summary>
    private Dictionary<string, EndpointEntry> Named(IReadOnlyList<EndpointEntry> entries, SyncSide side, string directory, HashSet<string> skipped)
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
                observer.Warn($"skipping an entry named '{Printable(entry.Name)}' in {side.Describe(directory)}: not a usable file name.");
                continue;
            }

            string key;
            try
            {
                key = entry.Name.Normalize(System.Text.NormalizationForm.FormC);
            }
            catch (ArgumentException)
            {
                observer.Warn($"skipping '{Printable(entry.Name)}' in {side.Describe(directory)}: not valid Unicode.");
                continue;
            }

            if (!named.TryAdd(key, entry))
            {
                observer.Warn($"skipping '{entry.Name}' in {side.Describe(directory)}: another name there differs from it only in Unicode normalisation.");
                skipped.Add(key);
            }
        }

        return named;
    }

    /// <summary>A name for a message, with control characters shown as '?' so they cannot act on a terminal.</summary>
    private static string Printable(string name) => string.Concat(name.Select(c => char.IsControl(c) ? '?' : c));

    private async Task CompareAsync(string path, string? sourcePath, EndpointEntry from, EndpointEntry to, bool afterDeletes, CancellationToken cancellationToken)
    {
        var sameTime = (from.Modified - to.Modified).Duration() < _timeWindow;
        var update = new SyncAction(SyncActionKind.Update, path, IsDirectory: false, from.Size) { AfterDeletes = afterDeletes, SourcePath = sourcePath };
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
            fromHash = await source.Endpoint.HashAsync(source.PathOf(sourcePath ?? path), from, cancellationToken).ConfigureAwait(false);
            toHash = await destination.Endpoint.HashAsync(destination.PathOf(path), to, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsPerFile(ex, cancellationToken))
        {
            Fail(path, $"{path}: cannot compute its SHA-256: {ex.Message}");
            return;
        }

        if (fromHash is null || toHash is null)
        {
            // An FTP or SFTP server holds no hashes: compare by time there, as without --checksum.
            if (!_warnedNoHashes)
            {
                _warnedNoHashes = true;
                observer.Warn($"{(fromHash is null ? source : destination).Describe(string.Empty)} holds no checksums; its files are compared by size and time.");
            }

            if (sameTime)
            {
                _result.Unchanged++;
            }
            else
            {
                _plan.Add(update);
            }

            return;
        }

        if (!string.Equals(fromHash, toHash, StringComparison.OrdinalIgnoreCase))
        {
            _plan.Add(update);
            return;
        }

        _result.Unchanged++;
        if (!sameTime)
        {
            _plan.Add(new SyncAction(SyncActionKind.Touch, path, IsDirectory: false, 0) { AfterDeletes = afterDeletes, Modified = from.Modified, SourcePath = sourcePath });
        }
    }

    /// <summary>
    /// Plans removing <paramref name="entry"/>. With a backup directory, a directory that holds
    /// nothing the filter protects moves there whole. Otherwise each file goes on its own and
    /// each directory after its content, only if then empty: whatever appears in it after the
    /// listing survives (the directory's delete then fails and says so).
    /// </summary>
    private async Task PlanDeleteAsync(string path, EndpointEntry entry, SyncFilter filter, CancellationToken cancellationToken)
    {
        var (whole, files, parts) = await CollectDeleteAsync(path, entry, filter, cancellationToken).ConfigureAwait(false);
        if (whole && options.BackupDir is not null)
        {
            _plan.Add(new SyncAction(SyncActionKind.Delete, path, entry.IsDirectory, entry.IsDirectory ? 0 : entry.Size, files));
        }
        else
        {
            _plan.AddRange(parts);
        }
    }

    /// <summary>The deletes for <paramref name="path"/>, children before their directory; whether all of it goes; its file count.</summary>
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
        foreach (var child in children)
        {
            var childPath = EndpointPaths.Join(path, child.Name);
            if (IsInternalName(child.Name) || !EndpointPaths.IsUsableName(child.Name)
                || (_backupInside is not null && EndpointPaths.IsSameOrBelow(childPath, _backupInside))
                || filter.Excludes(childPath, child.IsDirectory))
            {
                // Kept, and so is this directory.
                whole = false;
                continue;
            }

            var (childWhole, childFiles, childParts) = await CollectDeleteAsync(childPath, child, filter, cancellationToken).ConfigureAwait(false);
            whole &= childWhole;
            files += childFiles;
            parts.AddRange(childParts);
        }

        if (whole)
        {
            parts.Add(new SyncAction(SyncActionKind.Delete, path, IsDirectory: true, 0, files));
        }

        return (whole, files, parts);
    }

    /// <summary>What a delete adds to the count: a file 1, a directory moved to the backup its files, an emptied directory only when it held no files.</summary>
    private int DeleteWeight(SyncAction action) =>
        !action.IsDirectory ? 1
        : options.BackupDir is not null ? Math.Max(1, action.Files)
        : action.Files == 0 ? 1 : 0;

    /// <summary>Whether the planned deletes may run: not after a failed listing, not from an empty source, not past the limit.</summary>
    private bool JudgeDeletes()
    {
        var deletes = _plan.Where(a => a.Kind == SyncActionKind.Delete).ToList();
        if (deletes.Count == 0)
        {
            return true;
        }

        var count = deletes.Sum(DeleteWeight);
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
            await source.Endpoint.DownloadAsync(source.PathOf(path), temporary, replace: true, null, cancellationToken).ConfigureAwait(false);
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
            try
            {
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
            }
            finally
            {
                // Nothing started is left running when this stage ends, however it ends.
                await Task.WhenAll(running).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
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
                _result.Deleted += DeleteWeight(action);
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
            ? $"{source.Describe(action.From)} to {destination.Describe(action.Path)}"
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
                var staging = EndpointPaths.Join(EndpointPaths.Parent(action.Path), StagingName(EndpointPaths.Name(action.Path)));
                var transfer = await RetryAsync(() => CopyAsync(action.From, staging, replace: true, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
                await BackupAsync(action.Path, cancellationToken).ConfigureAwait(false);
                await RetryAsync(() => destination.Endpoint.RenameAsync(destination.PathOf(staging), target, cancellationToken), cancellationToken).ConfigureAwait(false);
                return transfer;
            }

            default:
                // A new file never replaces one that appeared since the listing; an update replaces the listed one.
                return await RetryAsync(() => CopyAsync(action.From, action.Path, replace: action.Kind == SyncActionKind.Update, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
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
    private async Task<EndpointTransfer> CopyAsync(string path, string targetPath, bool replace, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var from = source.PathOf(path);
        var to = destination.PathOf(targetPath);
        if (destination.Endpoint is LocalEndpoint localTarget)
        {
            return await source.Endpoint.DownloadAsync(from, localTarget.Full(to), replace, progress, cancellationToken).ConfigureAwait(false);
        }

        if (source.Endpoint is LocalEndpoint localSource)
        {
            return await destination.Endpoint.UploadAsync(localSource.Full(from), to, replace, progress, cancellationToken).ConfigureAwait(false);
        }

        var relay = Path.Combine(Path.GetTempPath(), "sxfer-relay-" + Guid.NewGuid().ToString("N"));
        try
        {
            await source.Endpoint.DownloadAsync(from, relay, replace: true, null, cancellationToken).ConfigureAwait(false);
            return await destination.Endpoint.UploadAsync(relay, to, replace, progress, cancellationToken).ConfigureAwait(false);
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
