namespace SecureXfer.Shared.Endpoints;

public enum EntryKind
{
    File,
    Directory,

    /// <summary>Neither a file to copy nor a directory to enter: a link to a directory, a dangling link, a FIFO, a socket, a device.</summary>
    Other,
}

/// <summary>
/// One entry of an endpoint's tree. <see cref="Sha256"/> is a hash the endpoint already holds
/// (the SecureXfer server records one at commit); null when it would have to be computed.
/// </summary>
public sealed record EndpointEntry(string Name, EntryKind Kind, long Size, DateTimeOffset Modified, string? Sha256 = null)
{
    public bool IsDirectory => Kind == EntryKind.Directory;

    public bool IsFile => Kind == EntryKind.File;
}

/// <summary>What one file transfer moved: its size, how much was already in place, and its SHA-256 when known.</summary>
public sealed record EndpointTransfer(long Bytes, long ResumedFrom, string? Sha256);

/// <summary>
/// A file tree somewhere: a local directory, a directory on a SecureXfer server, and (through
/// the interop adapters) FTP or SFTP servers. Paths are relative to the endpoint's root,
/// '/'-separated, without leading or trailing '/'; "" is the root itself. Every endpoint
/// promises the same things: a file being written never replaces a good one until it is
/// complete, an interrupted transfer resumes when run again where the endpoint can, and a
/// stored file carries the modification time of its source.
/// </summary>
public interface IFileEndpoint : IAsyncDisposable
{
    /// <summary>How a path reads in messages: a local path, or a URL-like remote name.</summary>
    string Describe(string path);

    /// <summary>
    /// The resolution of the modification times stored in <paramref name="directory"/> (some file
    /// systems keep whole or even seconds); times closer than this count as equal.
    /// </summary>
    Task<TimeSpan> ModifiedPrecisionAsync(string directory, CancellationToken cancellationToken);

    /// <summary>Whether a file of this name can be stored here under exactly this name (Unicode normalisation aside).</summary>
    bool AcceptsName(string name);

    /// <summary>The entry at <paramref name="path"/> (links followed), or null when nothing is there.</summary>
    Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken);

    /// <summary>The entries of a directory, in no particular order. Fails when the directory cannot be read.</summary>
    Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken);

    /// <summary>Creates a directory and any missing parents; an existing directory is fine.</summary>
    Task MkdirAsync(string path, CancellationToken cancellationToken);

    /// <summary>Removes a file, or an empty directory (a directory that is not empty is an error).</summary>
    Task DeleteAsync(string path, CancellationToken cancellationToken);

    /// <summary>Renames within the endpoint. The target must not exist; its parent directory must.</summary>
    Task RenameAsync(string from, string to, CancellationToken cancellationToken);

    Task SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a local file at <paramref name="path"/> once it is complete. An existing file is
    /// replaced only with <paramref name="replace"/>; otherwise finding one is an error.
    /// </summary>
    Task<EndpointTransfer> UploadAsync(string localFile, string path, bool replace, IProgress<long>? progress, CancellationToken cancellationToken);

    /// <summary>Copies <paramref name="path"/> into a local file, which appears only once complete (replacing one only with <paramref name="replace"/>).</summary>
    Task<EndpointTransfer> DownloadAsync(string path, string localFile, bool replace, IProgress<long>? progress, CancellationToken cancellationToken);

    /// <summary>
    /// The SHA-256 of a file listed as <paramref name="entry"/>: the one the endpoint holds, one
    /// computed now (and remembered), or null when the endpoint cannot tell without a transfer.
    /// </summary>
    Task<string?> HashAsync(string path, EndpointEntry entry, CancellationToken cancellationToken);

    /// <summary>Whether transfers of files this small may run many at once on this endpoint.</summary>
    bool RunsConcurrently(long size);
}
