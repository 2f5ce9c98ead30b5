using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Sync;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Interop;

/// <summary>Checks every file endpoint must pass, whatever server is behind it.</summary>
internal static class EndpointChecks
{
    /// <summary>
    /// An upload and a download, each cut off after 4 MiB of 32 as a killed client would stop,
    /// continue on the next attempt from where they were, and end with the right bytes.
    /// </summary>
    public static async Task InterruptedTransfersResumeAsync(IFileEndpoint endpoint, string root, string onDisk)
    {
        using var local = new TempDir("sx-resume");
        var large = local.Combine("large.bin");
        var sha = TestFiles.WriteRandom(large, 32L << 20);

        await InterruptAsync((progress, token) => endpoint.UploadAsync(large, root + "/large.bin", replace: false, progress, token));
        var again = await endpoint.UploadAsync(large, root + "/large.bin", replace: false, null, CancellationToken.None);
        Assert.InRange(again.ResumedFrom, 1, (32L << 20) - 1);
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(onDisk, "large.bin")));

        var copy = local.Combine("copy.bin");
        await InterruptAsync((progress, token) => endpoint.DownloadAsync(root + "/large.bin", copy, replace: false, progress, token));
        Assert.False(File.Exists(copy));
        var fetched = await endpoint.DownloadAsync(root + "/large.bin", copy, replace: false, null, CancellationToken.None);
        Assert.InRange(fetched.ResumedFrom, 1, (32L << 20) - 1);
        Assert.Equal(sha, TestFiles.Sha256(copy));
    }

    private static async Task InterruptAsync(Func<IProgress<long>, CancellationToken, Task> transfer)
    {
        using var cancel = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => transfer(new Threshold(4L << 20, cancel), cancel.Token));
    }

    private sealed class Threshold(long bytes, CancellationTokenSource cancel) : IProgress<long>
    {
        public void Report(long value)
        {
            if (value >= bytes)
            {
                cancel.Cancel();
            }
        }
    }
}

/// <summary>An observer that ignores everything, for engine runs in tests.</summary>
internal sealed class NoObserver : ISyncObserver
{
    public static readonly NoObserver Instance = new();

    public void Planned(IReadOnlyList<SyncAction> plan)
    {
    }

    public IProgress<long>? Starting(SyncAction action) => null;

    public void Done(SyncAction action, EndpointTransfer? transfer)
    {
    }

    public void Failed(SyncError error)
    {
    }

    public void Warn(string message)
    {
    }
}
