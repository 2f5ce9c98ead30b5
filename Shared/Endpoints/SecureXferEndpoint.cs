using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Shared.Endpoints;

/// <summary>
/// A directory on a SecureXfer server, reached through an <see cref="SxpClient"/> the caller owns.
/// Listings carry the SHA-256 the server recorded at commit; small files go whole (PUT), larger
/// ones chunked and resumable; downloads resume from their partial file.
/// </summary>
public sealed class SecureXferEndpoint(SxpClient client, string root, TransferOptions options, string server) : IFileEndpoint
{
    private readonly string _root = root.TrimEnd('/');

    /// <summary>The server keeps times to the tick on its own file system; a coarser one is its operator's to avoid.</summary>
    public Task<TimeSpan> ModifiedPrecisionAsync(string directory, CancellationToken cancellationToken) => Task.FromResult(TimeSpan.FromTicks(1));

    /// <summary>What the server's path rules accept as one name: no control characters or backslashes, at most 255 bytes.</summary>
    public bool AcceptsName(string name) => AcceptsRemoteName(name);

    /// <summary>What the server's path rules accept as one name (the same for every front-end of a SecureXfer space).</summary>
    public static bool AcceptsRemoteName(string name) =>
        EndpointPaths.IsUsableName(name) && RemotePath.TryParse("/" + name, out var path, out _) && path.Name == name.Normalize(System.Text.NormalizationForm.FormC);

    /// <summary>The server path of a relative endpoint path.</summary>
    public string Full(string path) => path.Length == 0 ? (_root.Length == 0 ? "/" : _root) : _root + "/" + path;

    public string Describe(string path) => $"sxfer://{server}{Full(path)}";

    public async Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return ToEntry(await client.StatAsync(Full(path), cancellationToken).ConfigureAwait(false));
        }
        catch (SxpException ex) when (ex.Code == ErrorCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken)
    {
        var entries = await client.ListAsync(Full(path), cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(ToEntry)];
    }

    /// <summary>A SecureXfer listing entry (with its recorded SHA-256) as an endpoint entry.</summary>
    public static EndpointEntry ToEntry(RemoteEntry entry) =>
        new(entry.Name, entry.Type == EntryType.Dir ? EntryKind.Directory : EntryKind.File, entry.Size, entry.Modified, entry.Sha256);

    public Task MkdirAsync(string path, CancellationToken cancellationToken) =>
        client.MkdirAsync(Full(path), cancellationToken);

    public Task DeleteAsync(string path, CancellationToken cancellationToken) =>
        client.RemoveAsync(Full(path), recursive: false, cancellationToken);

    public Task RenameAsync(string from, string to, CancellationToken cancellationToken) =>
        client.MoveAsync(Full(from), Full(to), overwrite: false, cancellationToken);

    public Task SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        client.SetModifiedAsync(Full(path), modified, cancellationToken);

    public async Task<EndpointTransfer> UploadAsync(string localFile, string path, bool replace, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var remote = Full(path);
        var policy = replace ? OverwritePolicy.Replace : OverwritePolicy.Fail;
        var whole = new FileInfo(localFile).Length is var size && RunsConcurrently(size);
        var result = whole
            ? await client.PutAsync(localFile, remote, policy, cancellationToken).ConfigureAwait(false)
            : await client.UploadAsync(localFile, remote, options with { Overwrite = policy }, progress, cancellationToken).ConfigureAwait(false);
        return new EndpointTransfer(result.Bytes, result.ResumedFrom, result.Sha256);
    }

    public async Task<EndpointTransfer> DownloadAsync(string path, string localFile, bool replace, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var policy = replace ? OverwritePolicy.Replace : OverwritePolicy.Fail;
        var result = await client.DownloadAsync(Full(path), localFile, options with { Overwrite = policy }, progress, cancellationToken).ConfigureAwait(false);
        return new EndpointTransfer(result.Bytes, result.ResumedFrom, result.Sha256);
    }

    /// <summary>Files that fit one PUT (and so also one download request) share the connection many at a time.</summary>
    public bool RunsConcurrently(long size) => size <= SxpLimits.MaxPutSize && options.RateLimit <= 0;

    public Task<string?> HashAsync(string path, EndpointEntry entry, CancellationToken cancellationToken) => Task.FromResult(entry.Sha256);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
