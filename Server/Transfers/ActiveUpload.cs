using System.Buffers;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;
using SecureXfer.Shared.Paths;

namespace SecureXfer.Server.Transfers;

/// <summary>
/// The live state of one staged upload, shared by every connection attached to it: which
/// chunks are in the staging file, their CRC32C, and the whole-file SHA-256 computed over
/// the contiguous prefix as it grows, so each byte is hashed once in the common case.
/// </summary>
public sealed class ActiveUpload : IDisposable
{
    private readonly Lock _gate = new();
    private readonly bool[] _received;
    private readonly uint[] _crcs;
    private readonly List<(int Index, uint Crc)> _unsaved = [];
    private readonly OrderedHasher _hash = new();
    private int _receivedCount;
    private int _contiguous;
    private bool _hashStale;
    private int _attachments;
    private int _inflight;

    internal ActiveUpload(string id, long ownerId, RemotePath path, long size, int chunkSize, bool replaceExisting, string stagingPath, SafeFileHandle handle, SafeFileHandle? direct)
    {
        Id = id;
        OwnerId = ownerId;
        Path = path;
        Size = size;
        ChunkSize = chunkSize;
        ReplaceExisting = replaceExisting;
        StagingPath = stagingPath;
        Handle = handle;
        Direct = direct;
        ChunkCount = (int)((size + chunkSize - 1) / chunkSize);
        _received = new bool[ChunkCount];
        _crcs = new uint[ChunkCount];
    }

    public string Id { get; }

    public long OwnerId { get; }

    public RemotePath Path { get; }

    public long Size { get; }

    public int ChunkSize { get; }

    public int ChunkCount { get; }

    public bool ReplaceExisting { get; }

    public string StagingPath { get; }

    internal SafeFileHandle Handle { get; }

    /// <summary>An unbuffered handle on the same staging file for aligned chunks, when the file system offers one.</summary>
    internal SafeFileHandle? Direct { get; private set; }

    /// <summary>When chunk records were last written to the database (a <see cref="TimeProvider"/> timestamp).</summary>
    internal long LastSavedAt { get; set; }

    /// <summary>Set once the upload is committed, aborted, or taken over by a newer open: no more writes.</summary>
    public bool Closed { get; private set; }

    public int ReceivedCount
    {
        get
        {
            lock (_gate)
            {
                return _receivedCount;
            }
        }
    }

    public int ChunkLength(int index) => (int)Math.Min(ChunkSize, Size - ((long)index * ChunkSize));

    public (List<int> Indexes, List<uint> Crcs) Held()
    {
        lock (_gate)
        {
            var indexes = new List<int>(_receivedCount);
            var crcs = new List<uint>(_receivedCount);
            for (var i = 0; i < ChunkCount; i++)
            {
                if (_received[i])
                {
                    indexes.Add(i);
                    crcs.Add(_crcs[i]);
                }
            }

            return (indexes, crcs);
        }
    }

    internal bool TryAttach()
    {
        lock (_gate)
        {
            if (Closed)
            {
                return false;
            }

            _attachments++;
            return true;
        }
    }

    /// <summary>Returns true when the last connection has let go.</summary>
    internal bool Detach()
    {
        lock (_gate)
        {
            return --_attachments <= 0;
        }
    }

    internal bool BeginWrite()
    {
        lock (_gate)
        {
            if (Closed)
            {
                return false;
            }

            _inflight++;
            return true;
        }
    }

    internal void EndWrite()
    {
        lock (_gate)
        {
            _inflight--;
        }
    }

    /// <summary>Marks the upload closed and waits for writes already under way to finish.</summary>
    internal async Task CloseAsync()
    {
        lock (_gate)
        {
            Closed = true;
        }

        for (var waited = 0; waited < 30_000; waited += 5)
        {
            lock (_gate)
            {
                if (_inflight == 0)
                {
                    return;
                }
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    /// <summary>Records a chunk now on disk. <paramref name="data"/> feeds the hash when it is the next chunk in order.</summary>
    internal void MarkReceived(int index, uint crc, in ReadOnlySequence<byte> data)
    {
        lock (_gate)
        {
            if (Record(index, crc))
            {
                _hash.Offer((long)index * ChunkSize, data);
                CatchUp();
            }
        }
    }

    /// <summary>Records a chunk now on disk, taking ownership of the buffer that holds it: hashed now, kept for later, or returned.</summary>
    internal void MarkReceived(int index, uint crc, AlignedBuffer buffer, int length)
    {
        lock (_gate)
        {
            if (!Record(index, crc) || Closed)
            {
                buffer.Dispose();
                return;
            }

            _hash.Offer((long)index * ChunkSize, buffer, length);
            CatchUp();
        }
    }

    /// <summary>Notes a chunk as held. Returns false when the running hash can no longer be extended in order.</summary>
    private bool Record(int index, uint crc)
    {
        if (_received[index])
        {
            if (Math.Min(Size, (long)(index + 1) * ChunkSize) <= _hash.Hashed && _crcs[index] != crc)
            {
                // Replaced after it was hashed: the running hash no longer describes the file.
                _hashStale = true;
            }
        }
        else
        {
            _received[index] = true;
            _receivedCount++;
        }

        _crcs[index] = crc;
        _unsaved.Add((index, crc));
        return !_hashStale;
    }

    /// <summary>Hashes on through the chunks that now follow the hashed prefix without a gap.</summary>
    private void CatchUp()
    {
        while (_contiguous < ChunkCount && _received[_contiguous])
        {
            _contiguous++;
        }

        _hash.CatchUp(Math.Min(Size, (long)_contiguous * ChunkSize), Handle, Direct);
    }

    /// <summary>Unbuffered writes failed on this file system: later chunks go through the ordinary handle.</summary>
    internal void StopDirect()
    {
        lock (_gate)
        {
            Direct?.Dispose();
            Direct = null;
        }
    }

    /// <summary>Loads a chunk found intact in the staging file after a restart.</summary>
    internal void MarkVerified(int index, uint crc, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            _received[index] = true;
            _receivedCount++;
            _crcs[index] = crc;
            _hash.Offer((long)index * ChunkSize, data);
        }
    }

    internal List<(int Index, uint Crc)> TakeUnsaved()
    {
        lock (_gate)
        {
            var taken = _unsaved.ToList();
            _unsaved.Clear();
            return taken;
        }
    }

    internal int UnsavedCount
    {
        get
        {
            lock (_gate)
            {
                return _unsaved.Count;
            }
        }
    }

    /// <summary>The SHA-256 of the whole staged file. Only valid once every chunk is received.</summary>
    internal string FinishHash()
    {
        lock (_gate)
        {
            if (_hashStale)
            {
                _hash.Restart();
                _hashStale = false;
            }

            CatchUp();
            if (_hash.Hashed != Size)
            {
                throw new InvalidOperationException("Hash requested before every chunk arrived.");
            }

            return HashText.ToHex(_hash.Finish());
        }
    }

    public void Dispose()
    {
        Direct?.Dispose();
        Handle.Dispose();
        _hash.Dispose();
    }
}
