using System.Diagnostics;

namespace SecureXfer.Shared.Protocol.Client;

/// <summary>Holds a byte stream to a rate by delaying before each piece that would run ahead of it.</summary>
internal sealed class RatePacer(long bytesPerSecond)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _bytes;

    public async ValueTask PaceAsync(int nextBytes, CancellationToken cancellationToken)
    {
        if (bytesPerSecond <= 0)
        {
            return;
        }

        var due = TimeSpan.FromSeconds((double)Interlocked.Add(ref _bytes, nextBytes) / bytesPerSecond);
        var wait = due - _clock.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }
}
