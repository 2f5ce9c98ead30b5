using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// Kestrel's buffers for every connection, in 64 KiB pinned blocks instead of the default 4 KiB.
/// A socket read or a TLS record then fills one block, so a 4 MiB chunk arrives in about 64
/// receive calls and segments rather than a thousand. Blocks are taken only while data is
/// buffered (Kestrel waits for data before renting one), and at most <see cref="Retained"/>
/// free ones are kept.
/// </summary>
internal sealed class TransferMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new TransferMemoryPool();

    private sealed class TransferMemoryPool : MemoryPool<byte>
    {
        private const int BlockSize = 64 * 1024;
        private const int Retained = 512;

        private readonly ConcurrentQueue<Block> _free = new();
        private int _freeCount;

        public override int MaxBufferSize => BlockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
            if (_free.TryDequeue(out var block))
            {
                Interlocked.Decrement(ref _freeCount);
                block.Reuse();
                return block;
            }

            return new Block(this);
        }

        protected override void Dispose(bool disposing) => _free.Clear();

        private void Return(Block block)
        {
            if (Interlocked.Increment(ref _freeCount) <= Retained)
            {
                _free.Enqueue(block);
            }
            else
            {
                Interlocked.Decrement(ref _freeCount);
            }
        }

        private sealed class Block(TransferMemoryPool pool) : IMemoryOwner<byte>
        {
            private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
            private int _rented = 1;

            public Memory<byte> Memory => _array;

            public void Reuse() => Volatile.Write(ref _rented, 1);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _rented, 0) == 1)
                {
                    pool.Return(this);
                }
            }
        }
    }
}
