using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;

namespace SecureXfer.Server.Protocol;

/// <summary>
/// Caps on SXP connections per client address (authenticated or not: what one host can hold
/// open, the pre-authentication slow-peer attack included) and on sessions per account (what one
/// set of credentials can hold), so neither can take the whole <see cref="SecureXferOptions.MaxConnections"/>.
/// </summary>
public sealed class SessionLimits(IOptions<SecureXferOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _addresses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, int> _users = new();

    /// <summary>A slot for one more connection from <paramref name="address"/>, or null when it has its share.</summary>
    public IDisposable? TryEnterAddress(string? address) =>
        address is null ? new Slot(() => { }) : TryEnter(_addresses, address, options.Value.SxpConnectionsPerAddress);

    /// <summary>A slot for one more session of the account, or null when it has its share.</summary>
    public IDisposable? TryEnterUser(long userId) => TryEnter(_users, userId, options.Value.SxpSessionsPerUser);

    private static Slot? TryEnter<TKey>(ConcurrentDictionary<TKey, int> counts, TKey key, int limit)
        where TKey : notnull
    {
        while (true)
        {
            var current = counts.GetOrAdd(key, 0);
            if (current >= limit)
            {
                return null;
            }

            if (counts.TryUpdate(key, current + 1, current))
            {
                return new Slot(() => Leave(counts, key));
            }
        }
    }

    private static void Leave<TKey>(ConcurrentDictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        while (true)
        {
            var current = counts[key];
            if (counts.TryUpdate(key, current - 1, current))
            {
                // Forget keys that drop to zero, so the maps hold only what is connected now.
                counts.TryRemove(new KeyValuePair<TKey, int>(key, 0));
                return;
            }
        }
    }

    private sealed class Slot(Action leave) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                leave();
            }
        }
    }
}
