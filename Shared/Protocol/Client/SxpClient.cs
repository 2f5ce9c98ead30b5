namespace SecureXfer.Shared.Protocol.Client;

/// <summary>
/// The SXP client: file operations on one primary connection, and extra connections opened on
/// demand for parallel transfers. Not thread-safe for concurrent transfers; one transfer at a time.
/// </summary>
public sealed partial class SxpClient : IAsyncDisposable
{
    private readonly SxpEndpoint _endpoint;
    private readonly Func<CancellationToken, ValueTask<string>> _token;
    private readonly List<SxpConnection> _extra = [];
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private SxpConnection? _primary;

    public SxpClient(SxpEndpoint endpoint, string token)
        : this(endpoint, _ => ValueTask.FromResult(token))
    {
    }

    /// <summary>A client that asks <paramref name="token"/> for the token each time it connects, so a long-lived client can use renewed ones.</summary>
    public SxpClient(SxpEndpoint endpoint, Func<CancellationToken, ValueTask<string>> token)
    {
        _endpoint = endpoint;
        _token = token;
    }

    /// <summary>The primary connection, opened again if the server has closed it (idle timeout, restart).</summary>
    public async Task<SxpConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_primary is { IsFaulted: false } open)
        {
            return open;
        }

        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_primary is { IsFaulted: true })
            {
                await _primary.DisposeAsync().ConfigureAwait(false);
                _primary = null;
            }

            return _primary ??= await SxpConnection.ConnectAsync(_endpoint, await _token(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>The primary connection plus <paramref name="count"/> - 1 more, opened in parallel. Closed ones are replaced.</summary>
    private async Task<IReadOnlyList<SxpConnection>> ConnectionsAsync(int count, CancellationToken cancellationToken)
    {
        foreach (var dead in _extra.Where(c => c.IsFaulted).ToList())
        {
            _extra.Remove(dead);
            await dead.DisposeAsync().ConfigureAwait(false);
        }

        var primary = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var missing = count - 1 - _extra.Count;
        if (missing > 0)
        {
            var token = await _token(cancellationToken).ConfigureAwait(false);
            var opened = await Task.WhenAll(Enumerable.Range(0, missing)
                .Select(_ => SxpConnection.ConnectAsync(_endpoint, token, cancellationToken))).ConfigureAwait(false);
            _extra.AddRange(opened);
        }

        return [primary, .. _extra.Take(count - 1)];
    }

    public async Task<RemoteEntry> StatAsync(string path, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        return await connection.RequestAsync(
            FrameType.Stat, new PathRequest(path), SxpJsonContext.Default.PathRequest,
            FrameType.StatOk, SxpJsonContext.Default.RemoteEntry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists a directory; a file path lists that one file. Large listings arrive in several frames.</summary>
    public async Task<IReadOnlyList<RemoteEntry>> ListAsync(string path, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        using var stream = connection.OpenStream();
        await connection.SendControlAsync(FrameType.List, stream.Id, new PathRequest(path), SxpJsonContext.Default.PathRequest, cancellationToken).ConfigureAwait(false);
        var entries = new List<RemoteEntry>();
        while (true)
        {
            using var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
            entries.AddRange(SxpConnection.ExpectControl(frame, FrameType.ListOk, SxpJsonContext.Default.ListResponse).Entries);
            if ((frame.Header.Flags & FrameFlags.More) == 0)
            {
                return entries;
            }
        }
    }

    public Task<RemoteEntry?> MkdirAsync(string path, CancellationToken cancellationToken) =>
        SimpleAsync(FrameType.Mkdir, new PathRequest(path), SxpJsonContext.Default.PathRequest, cancellationToken);

    public Task<RemoteEntry?> RemoveAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        SimpleAsync(FrameType.Remove, new RemoveRequest(path, recursive), SxpJsonContext.Default.RemoveRequest, cancellationToken);

    public Task<RemoteEntry?> MoveAsync(string from, string to, bool overwrite, CancellationToken cancellationToken) =>
        SimpleAsync(FrameType.Move, new MoveRequest(from, to, overwrite), SxpJsonContext.Default.MoveRequest, cancellationToken);

    /// <summary>Sets the modification time of a remote file or directory; a file keeps its recorded SHA-256.</summary>
    public Task<RemoteEntry?> SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        SimpleAsync(FrameType.SetModified, new SetModifiedRequest(path, modified), SxpJsonContext.Default.SetModifiedRequest, cancellationToken);

    private async Task<RemoteEntry?> SimpleAsync<T>(FrameType type, T request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var ok = await connection.RequestAsync(type, request, info, FrameType.Ok, SxpJsonContext.Default.OkResponse, cancellationToken).ConfigureAwait(false);
        return ok.Entry;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _extra)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _extra.Clear();
        if (_primary is not null)
        {
            await _primary.DisposeAsync().ConfigureAwait(false);
            _primary = null;
        }
    }
}
