namespace SecureXfer.Cli.Sync;

/// <summary>
/// Notices changes under a local directory. A burst of changes becomes one signal once things
/// have been quiet for a moment (or after a few seconds of constant change); a lost event
/// (an overflowing queue) counts as a change, and the caller's periodic full pass covers the rest.
/// </summary>
internal sealed class SourceWatcher : IDisposable
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    private readonly FileSystemWatcher? _watcher;
    private readonly SemaphoreSlim _signal = new(0);
    private long _lastEvent;

    public SourceWatcher(string root, Action<string> warn)
    {
        try
        {
            _watcher = new FileSystemWatcher(root)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += (_, _) => Changed();
            _watcher.Created += (_, _) => Changed();
            _watcher.Deleted += (_, _) => Changed();
            _watcher.Renamed += (_, _) => Changed();
            _watcher.Error += (_, e) =>
            {
                warn($"watching {root} lost events ({e.GetException().Message}); running a full pass.");
                Changed();
            };
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            _watcher?.Dispose();
            _watcher = null;
            warn($"cannot watch {root} ({ex.Message}); only the periodic full passes will run.");
        }
    }

    private void Changed()
    {
        Volatile.Write(ref _lastEvent, Environment.TickCount64);
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    /// <summary>True after a settled burst of changes; false when <paramref name="timeout"/> passed without one.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // In steps of at most an hour: a semaphore's timeout cannot span a month.
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            if (await _signal.WaitAsync(left < TimeSpan.FromHours(1) ? left : TimeSpan.FromHours(1), cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }

        var first = Environment.TickCount64;
        while (true)
        {
            var now = Environment.TickCount64;
            var quietFor = TimeSpan.FromMilliseconds(now - Volatile.Read(ref _lastEvent));
            if (quietFor >= Quiet || TimeSpan.FromMilliseconds(now - first) >= MaxDelay)
            {
                break;
            }

            await Task.Delay(Quiet - quietFor, cancellationToken).ConfigureAwait(false);
        }

        while (_signal.CurrentCount > 0)
        {
            await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _signal.Dispose();
    }
}
