using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Hashing;
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
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private int _receivedCount;
    private int _hashedChunks;
    private bool _hashStale;
    private int _attachments;
    private int _inflight;

    internal ActiveUpload(string id, long ownerId, RemotePath path, long size, int chunkSize, bool replaceExisting, string stagingPath, SafeFileHandle handle)
    {
        Id = id;
        OwnerId = ownerId;
        Path = path;
        Size = size;
        ChunkSize = chunkSize;
        ReplaceExisting = replaceExisting;
        StagingPath = stagingPath;
        Handle = handle;
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
            if (_received[index])
            {
                if (index < _hashedChunks && _crcs[index] != crc)
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
            if (index == _hashedChunks && !_hashStale)
            {
                foreach (var segment in data)
                {
                    _sha.AppendData(segment.Span);
                }

                _hashedChunks++;
                CatchUpFromDisk();
            }
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
            if (index == _hashedChunks)
            {
                _sha.AppendData(data);
                _hashedChunks++;
            }
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
                _sha.GetHashAndReset();
                _hashedChunks = 0;
                _hashStale = false;
            }

            CatchUpFromDisk();
            if (_hashedChunks != ChunkCount)
            {
                throw new InvalidOperationException("Hash requested before every chunk arrived.");
            }

            return HashText.ToHex(_sha.GetHashAndReset());
        }
    }

    /// <summary>Hashes chunks that arrived out of order and now follow the hashed prefix, reading them back from the staging file.</summary>
    private void CatchUpFromDisk()
    {
        if (_hashedChunks >= ChunkCount || !_received[_hashedChunks])
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (_hashedChunks < ChunkCount && _received[_hashedChunks])
            {
                var length = ChunkLength(_hashedChunks);
                var offset = (long)_hashedChunks * ChunkSize;
                var read = 0;
                while (read < length)
                {
                    var n = RandomAccess.Read(Handle, buffer.AsSpan(read, length - read), offset + read);
                    if (n == 0)
                    {
                        throw new IOException("The staging file is shorter than its recorded chunks.");
                    }

                    read += n;
                }

                _sha.AppendData(buffer, 0, length);
                _hashedChunks++;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        Handle.Dispose();
        _sha.Dispose();
    }
}
