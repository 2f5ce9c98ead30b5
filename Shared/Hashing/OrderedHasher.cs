using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.IO;

namespace SecureXfer.Shared.Hashing;

/// <summary>
/// The SHA-256 of a file whose pieces land out of order (several lanes, resumed transfers),
/// hashing each byte once in the common case: a piece at the hashed prefix is hashed straight
/// from the buffer it arrived in; a piece ahead of it is kept, up to a few, until the gap fills;
/// anything else is read back from the file when the prefix reaches it. Thread-safe.
/// </summary>
public sealed class OrderedHasher : IDisposable
{
    private readonly Lock _gate = new();
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Dictionary<long, (AlignedBuffer Buffer, int Length)> _pending = [];
    /// <summary>Bytes kept ahead of the prefix by all hashers in this process together; past it, pieces are read back instead.</summary>
    private const long KeptBudget = 256L * 1024 * 1024;

    private static long _keptBytes;

    private readonly int _maxPending;
    private long _hashed;

    public OrderedHasher(int maxPending = 8)
    {
        _maxPending = maxPending;
    }

    /// <summary>Bytes from the start of the file already in the hash.</summary>
    public long Hashed
    {
        get
        {
            lock (_gate)
            {
                return _hashed;
            }
        }
    }

    /// <summary>Hashes <paramref name="data"/> if it continues the hashed prefix; otherwise it will be read back later.</summary>
    public void Offer(long offset, in ReadOnlySequence<byte> data)
    {
        lock (_gate)
        {
            var skip = _hashed - offset;
            if (skip < 0)
            {
                // Not next: whatever was kept for this offset is out of date now.
                Discard(offset);
                return;
            }

            if (skip >= data.Length)
            {
                return;
            }

            foreach (var segment in data.Slice(skip))
            {
                _sha.AppendData(segment.Span);
            }

            _hashed = offset + data.Length;
            DrainPending();
        }
    }

    /// <summary>Hashes <paramref name="data"/> if it continues the hashed prefix; otherwise it will be read back later.</summary>
    public void Offer(long offset, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            var skip = _hashed - offset;
            if (skip < 0)
            {
                Discard(offset);
                return;
            }

            if (skip < data.Length)
            {
                _sha.AppendData(data[(int)skip..]);
                _hashed = offset + data.Length;
                DrainPending();
            }
        }
    }

    /// <summary>Takes ownership of <paramref name="buffer"/>: hashed now, kept for later, or returned to the pool.</summary>
    public void Offer(long offset, AlignedBuffer buffer, int length)
    {
        lock (_gate)
        {
            var skip = _hashed - offset;
            if (skip >= 0)
            {
                if (skip < length)
                {
                    _sha.AppendData(buffer.Span[(int)skip..length]);
                    _hashed = offset + length;
                    DrainPending();
                }

                buffer.Dispose();
                return;
            }

            if (_pending.Remove(offset, out var replaced))
            {
                Release(replaced.Buffer);
            }

            if (_pending.Count < _maxPending && Interlocked.Add(ref _keptBytes, buffer.Capacity) <= KeptBudget)
            {
                _pending[offset] = (buffer, length);
            }
            else
            {
                if (_pending.Count < _maxPending)
                {
                    Interlocked.Add(ref _keptBytes, -buffer.Capacity);
                }

                buffer.Dispose();
            }
        }
    }

    /// <summary>Forgets a kept piece whose bytes on disk were replaced since.</summary>
    public void Discard(long offset)
    {
        lock (_gate)
        {
            if (_pending.Remove(offset, out var kept))
            {
                Release(kept.Buffer);
            }
        }
    }

    /// <summary>
    /// Extends the hash to <paramref name="end"/>, every byte before which is in <paramref name="file"/>:
    /// from kept pieces where they fit, otherwise read back (unbuffered through <paramref name="direct"/> when given).
    /// </summary>
    public void CatchUp(long end, SafeFileHandle file, SafeFileHandle? direct)
    {
        lock (_gate)
        {
            DrainPending();
            if (_hashed >= end)
            {
                return;
            }

            using var scratch = AlignedBuffer.Rent(1 << 20);
            while (_hashed < end)
            {
                var want = (int)Math.Min(scratch.Capacity, end - _hashed);
                var read = ReadAt(file, direct, scratch, _hashed, want);
                _sha.AppendData(scratch.Span[..read]);
                _hashed += read;
                DrainPending();
            }
        }
    }

    /// <summary>The digest of the first <see cref="Hashed"/> bytes; the hasher starts over afterwards.</summary>
    public byte[] Finish()
    {
        lock (_gate)
        {
            ReleasePending();
            _hashed = 0;
            return _sha.GetHashAndReset();
        }
    }

    /// <summary>Drops everything hashed so far (a piece already in the hash was replaced).</summary>
    public void Restart()
    {
        lock (_gate)
        {
            _sha.GetHashAndReset();
            ReleasePending();
            _hashed = 0;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            ReleasePending();
        }

        _sha.Dispose();
    }

    /// <summary>Reads up to <paramref name="want"/> bytes at <paramref name="offset"/>; fails if the file ends first.</summary>
    private static int ReadAt(SafeFileHandle file, SafeFileHandle? direct, AlignedBuffer buffer, long offset, int want)
    {
        if (direct is not null && DirectIo.IsAligned(offset, 0))
        {
            try
            {
                var n = RandomAccess.Read(direct, buffer.Span[..(int)DirectIo.RoundUp(want)], offset);
                if (n > 0)
                {
                    return Math.Min(n, want);
                }
            }
            catch (IOException)
            {
                // Unbuffered reads refused: fall through to an ordinary one.
            }
        }

        {
            var n = RandomAccess.Read(file, buffer.Span[..want], offset);
            if (n > 0)
            {
                return n;
            }
        }

        throw new IOException("The file is shorter than the bytes recorded as received.");
    }

    private void DrainPending()
    {
        while (_pending.Remove(_hashed, out var next))
        {
            _sha.AppendData(next.Buffer.Span[..next.Length]);
            _hashed += next.Length;
            Release(next.Buffer);
        }

        if (_pending.Count > 0)
        {
            // Pieces now wholly inside the hashed prefix are of no further use.
            foreach (var stale in _pending.Where(p => p.Key + p.Value.Length <= _hashed).Select(p => p.Key).ToList())
            {
                Discard(stale);
            }
        }
    }

    private void ReleasePending()
    {
        foreach (var (buffer, _) in _pending.Values)
        {
            Release(buffer);
        }

        _pending.Clear();
    }

    /// <summary>A kept piece leaves: its bytes come off the shared budget and the buffer goes back to the pool.</summary>
    private static void Release(AlignedBuffer buffer)
    {
        Interlocked.Add(ref _keptBytes, -buffer.Capacity);
        buffer.Dispose();
    }
}
