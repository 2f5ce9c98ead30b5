using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace SecureXfer.Shared.IO;

/// <summary>
/// A buffer whose first byte sits on a <see cref="DirectIo.Alignment"/> boundary, cut from a
/// pinned array, as unbuffered I/O requires. Rented from a small pool and returned by Dispose.
/// </summary>
public sealed class AlignedBuffer : IDisposable
{
    /// <summary>Free buffers kept for reuse, in bytes, across all sizes.</summary>
    private const long PoolLimit = 64L * 1024 * 1024;

    private static readonly ConcurrentDictionary<int, ConcurrentBag<AlignedBuffer>> Free = new();
    private static long _pooledBytes;

    private readonly byte[] _array;
    private readonly int _start;
    private int _returned;

    private AlignedBuffer(int capacity)
    {
        _array = GC.AllocateUninitializedArray<byte>(capacity + DirectIo.Alignment, pinned: true);
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);
        _start = (int)((DirectIo.Alignment - (address % DirectIo.Alignment)) % DirectIo.Alignment);
        Capacity = capacity;
    }

    /// <summary>Usable bytes: a multiple of <see cref="DirectIo.Alignment"/>.</summary>
    public int Capacity { get; }

    public Memory<byte> Memory => _array.AsMemory(_start, Capacity);

    public Span<byte> Span => _array.AsSpan(_start, Capacity);

    /// <summary>A buffer of at least <paramref name="length"/> bytes (rounded up to a power of two, at least 64 KiB).</summary>
    public static AlignedBuffer Rent(int length)
    {
        var capacity = (int)Math.Max(64 * 1024, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length));
        if (Free.TryGetValue(capacity, out var bag) && bag.TryTake(out var buffer))
        {
            Interlocked.Add(ref _pooledBytes, -capacity);
            Volatile.Write(ref buffer._returned, 0);
            return buffer;
        }

        return new AlignedBuffer(capacity);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) != 0)
        {
            return;
        }

        if (Interlocked.Add(ref _pooledBytes, Capacity) > PoolLimit)
        {
            Interlocked.Add(ref _pooledBytes, -Capacity);
            return;
        }

        Free.GetOrAdd(Capacity, _ => []).Add(this);
    }
}
