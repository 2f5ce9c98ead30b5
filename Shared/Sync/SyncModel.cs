using SecureXfer.Shared.Endpoints;

namespace SecureXfer.Shared.Sync;

/// <summary>One side of a sync: an endpoint and the directory on it that is synced.</summary>
public sealed record SyncSide(IFileEndpoint Endpoint, string Root)
{
    /// <summary>The endpoint path of a path relative to the synced directory.</summary>
    public string PathOf(string relative) => relative.Length == 0 ? Root : EndpointPaths.Join(Root, relative);

    public string Describe(string relative) => Endpoint.Describe(PathOf(relative));
}

/// <summary>How a sync runs. The defaults copy and update only; deleting takes <see cref="Delete"/>.</summary>
public sealed record SyncOptions
{
    public const int DefaultMaxDelete = 100;

    /// <summary>Remove destination files that are missing at the source (never after a failed listing or transfer).</summary>
    public bool Delete { get; init; }

    /// <summary>Plan only; change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>Compare files of equal size by SHA-256 instead of by modification time.</summary>
    public bool Checksum { get; init; }

    /// <summary>The most files one run may delete; a plan with more deletes none of them.</summary>
    public int MaxDelete { get; init; } = DefaultMaxDelete;

    /// <summary>
    /// A directory on the destination endpoint (an endpoint path, not relative to the synced root)
    /// that receives replaced and deleted files instead of their being destroyed.
    /// </summary>
    public string? BackupDir { get; init; }

    public SyncFilter Filter { get; init; } = SyncFilter.None;

    /// <summary>Further attempts after a transient failure (a dropped connection, a busy server).</summary>
    public int Retries { get; init; } = 3;

    /// <summary>The wait before the first retry; it doubles for each further one (up to 30 seconds).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Small-file transfers in flight at once.</summary>
    public int Concurrency { get; init; } = 64;
}

public enum SyncActionKind
{
    /// <summary>Create a directory that exists only at the source.</summary>
    Mkdir,

    /// <summary>Copy a file missing at the destination.</summary>
    Copy,

    /// <summary>Replace a destination file that differs.</summary>
    Update,

    /// <summary>Same content, different time: set the destination's modification time.</summary>
    Touch,

    /// <summary>Remove (or move to the backup directory) something missing at the source.</summary>
    Delete,
}

/// <summary>
/// One step of a plan. <see cref="Path"/> is the destination's path (relative to its synced
/// directory); <see cref="SourcePath"/> the source's, when a name differs between the two only
/// in Unicode normalisation. <see cref="Files"/> is how many files a delete removes (a
/// directory's content counts); <see cref="Size"/> is the bytes a copy or update moves.
/// </summary>
public sealed record SyncAction(SyncActionKind Kind, string Path, bool IsDirectory, long Size, int Files = 1)
{
    public string? SourcePath { get; init; }

    /// <summary>The path at the source: <see cref="SourcePath"/>, or the same as the destination's.</summary>
    public string From => SourcePath ?? Path;

    /// <summary>Set for actions that run only after the deletes they depend on (a file replacing a directory, or the reverse).</summary>
    public bool AfterDeletes { get; init; }

    /// <summary>The source's modification time, for <see cref="SyncActionKind.Touch"/>.</summary>
    public DateTimeOffset Modified { get; init; }
}

public sealed record SyncError(string Path, string Message);

/// <summary>What a run did (or, in a dry run, would do).</summary>
public sealed class SyncResult
{
    public bool DryRun { get; init; }

    public List<SyncAction> Plan { get; } = [];

    public int Copied { get; set; }

    public int Updated { get; set; }

    public int Deleted { get; set; }

    public int Unchanged { get; set; }

    /// <summary>Bytes of the files copied and updated.</summary>
    public long Bytes { get; set; }

    /// <summary>Of <see cref="Bytes"/>, how many were already in place from an interrupted earlier run.</summary>
    public long Resumed { get; set; }

    public List<SyncError> Errors { get; } = [];

    public bool Succeeded => Errors.Count == 0;
}

/// <summary>What a sync tells its caller as it goes (progress, per-file lines, warnings).</summary>
public interface ISyncObserver
{
    /// <summary>The plan is known; nothing has been changed yet.</summary>
    void Planned(IReadOnlyList<SyncAction> plan);

    /// <summary>A transfer starts; the returned sink gets the bytes in place so far.</summary>
    IProgress<long>? Starting(SyncAction action);

    void Done(SyncAction action, EndpointTransfer? transfer);

    void Failed(SyncError error);

    void Warn(string message);
}

/// <summary>The run cannot go ahead at all (a missing source, a destination that is a file).</summary>
public sealed class SyncRefusedException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}
