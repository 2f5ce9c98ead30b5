using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;

namespace SecureXfer.Shared.Protocol.Client;

public sealed partial class SxpClient
{
    private const int MaxChecksumRetries = 3;

    /// <summary>
    /// Uploads one file. The file is read once, in order: each chunk is hashed into the
    /// whole-file SHA-256 and, unless the server already holds it with the same CRC32C,
    /// sent on one of the lanes. Lanes pipeline within the server's window and never wait
    /// a round trip per chunk. A rerun after any interruption resumes. The stored file gets the
    /// local file's modification time as it was when the upload started.
    /// </summary>
    public async Task<TransferResult> UploadAsync(string localPath, string remotePath, TransferOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var size = RandomAccess.GetLength(file);
        var modified = File.GetLastWriteTimeUtc(file);
        var primary = await ConnectAsync(cancellationToken).ConfigureAwait(false);

        using var openStream = primary.OpenStream();
        await primary.SendControlAsync(FrameType.UploadOpen, openStream.Id,
            new UploadOpenRequest(remotePath, size, options.ChunkSize, options.Overwrite, null),
            SxpJsonContext.Default.UploadOpenRequest, cancellationToken).ConfigureAwait(false);
        // A large resumed upload lists its held chunks over several frames.
        UploadReadyResponse ready;
        var have = new Dictionary<int, uint>();
        while (true)
        {
            using var frame = await openStream.ReadAsync(cancellationToken).ConfigureAwait(false);
            ready = SxpConnection.ExpectControl(frame, FrameType.UploadReady, SxpJsonContext.Default.UploadReadyResponse);
            for (var i = 0; i < ready.HaveIndexes.Count && i < ready.HaveCrcs.Count; i++)
            {
                have[ready.HaveIndexes[i]] = ready.HaveCrcs[i];
            }

            if ((frame.Header.Flags & FrameFlags.More) == 0)
            {
                break;
            }
        }

        var chunkSize = ready.ChunkSize;
        var chunkCount = (int)((size + chunkSize - 1) / chunkSize);
        var lanesWanted = Math.Clamp(Math.Min(options.Parallel, chunkCount - have.Count), 1, 16);
        var connections = await ConnectionsAsync(lanesWanted, cancellationToken).ConfigureAwait(false);

        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lanes = new List<UploadLane>(connections.Count) { new(primary, openStream, ready.Window, ownsStream: false) };
        try
        {
            foreach (var connection in connections.Skip(1))
            {
                lanes.Add(await UploadLane.AttachAsync(connection, ready.UploadId, cancellationToken).ConfigureAwait(false));
            }

            var progressState = new UploadProgress(progress, chunkCount);
            foreach (var lane in lanes)
            {
                lane.StartAcks(chunkSize, progressState, failure);
            }

            var work = Channel.CreateBounded<PendingChunk>(new BoundedChannelOptions(lanes.Count * 2) { SingleWriter = true });
            var pacer = new RatePacer(options.RateLimit);
            var senders = lanes.Select(lane => CancelAllOnFailureAsync(lane.SendAllAsync(work.Reader, pacer, failure.Token), failure)).ToArray();

            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var reader = new CacheAwareReader(file);
            long resumed = 0;
            try
            {
                for (var index = 0; index < chunkCount; index++)
                {
                    var offset = (long)index * chunkSize;
                    var length = (int)Math.Min(chunkSize, size - offset);
                    await progressState.WaitForRoomAsync(index, failure.Token).ConfigureAwait(false);
                    var buffer = AlignedBuffer.Rent(length);
                    ReadExactly(reader, buffer.Memory[..length], offset);
                    sha.AppendData(buffer.Span[..length]);
                    var crc = Crc32C.Compute(buffer.Span[..length]);
                    if (have.TryGetValue(index, out var heldCrc) && heldCrc == crc)
                    {
                        buffer.Dispose();
                        resumed += length;
                        progressState.Add(length);
                        progressState.Settled(index);
                        continue;
                    }

                    await work.Writer.WriteAsync(new PendingChunk(offset, length, crc, buffer), failure.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                work.Writer.TryComplete();
            }

            await Task.WhenAll(senders).ConfigureAwait(false);
            foreach (var lane in lanes)
            {
                await lane.DrainAsync(failure.Token).ConfigureAwait(false);
            }

            var sent = lanes.Sum(l => l.BytesSent);
            sent += await ResendDamagedAsync(reader, size, chunkSize, lanes, pacer, failure.Token).ConfigureAwait(false);

            var sha256 = HashText.ToHex(sha.GetHashAndReset());
            await primary.RequestAsync(
                FrameType.UploadCommit, new UploadCommitRequest(ready.UploadId, sha256) { Modified = new DateTimeOffset(modified, TimeSpan.Zero) }, SxpJsonContext.Default.UploadCommitRequest,
                FrameType.UploadDone, SxpJsonContext.Default.OkResponse, cancellationToken).ConfigureAwait(false);
            return new TransferResult(localPath, remotePath, size, resumed, sent, sha256);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A lane failed and cancelled the rest: surface the lane's own error.
            throw lanes.Select(l => l.Failure).FirstOrDefault(f => f is not null) ?? new IOException("Upload failed.");
        }
        finally
        {
            foreach (var lane in lanes)
            {
                await lane.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Chunks the server refused for a checksum mismatch are read again and resent, a bounded number of times.</summary>
    private static async Task<long> ResendDamagedAsync(CacheAwareReader reader, long size, int chunkSize, List<UploadLane> lanes, RatePacer pacer, CancellationToken cancellationToken)
    {
        long sent = 0;
        for (var attempt = 0; attempt < MaxChecksumRetries; attempt++)
        {
            var damaged = lanes.SelectMany(l => l.TakeDamaged()).Distinct().Order().ToList();
            if (damaged.Count == 0)
            {
                return sent;
            }

            var lane = lanes[0];
            var before = lane.BytesSent;
            var work = Channel.CreateUnbounded<PendingChunk>();
            foreach (var index in damaged)
            {
                var offset = (long)index * chunkSize;
                var length = (int)Math.Min(chunkSize, size - offset);
                var buffer = AlignedBuffer.Rent(length);
                ReadExactly(reader, buffer.Memory[..length], offset);
                work.Writer.TryWrite(new PendingChunk(offset, length, Crc32C.Compute(buffer.Span[..length]), buffer));
            }

            work.Writer.TryComplete();
            await lane.SendAllAsync(work.Reader, pacer, cancellationToken).ConfigureAwait(false);
            await lane.DrainAsync(cancellationToken).ConfigureAwait(false);
            sent += lane.BytesSent - before;
        }

        throw new SxpException(ErrorCode.IntegrityFailed, "Chunks kept arriving damaged at the server; giving up.");
    }

    private static async Task CancelAllOnFailureAsync(Task task, CancellationTokenSource failure)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch
        {
            await failure.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static void ReadExactly(CacheAwareReader reader, Memory<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var read = reader.Read(buffer, offset);
            if (read == 0)
            {
                throw new IOException("The local file became shorter while it was being read.");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    private readonly record struct PendingChunk(long Offset, int Length, uint Crc, AlignedBuffer Buffer);

    /// <summary>
    /// Bytes confirmed by the server plus bytes it already held, reported as they grow; and the
    /// order window: no chunk is read and sent more than <see cref="Span"/> chunks ahead of the
    /// first one not yet answered, so the server sees chunks nearly in order across lanes and
    /// hashes them from memory instead of reading them back.
    /// </summary>
    private sealed class UploadProgress(IProgress<long>? sink, int chunkCount)
    {
        private const int Span = 8;

        private readonly Lock _gate = new();
        private readonly bool[] _settled = new bool[chunkCount];
        private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _bytes;
        private int _firstOpen;

        public void Add(long bytes)
        {
            var total = Interlocked.Add(ref _bytes, bytes);
            sink?.Report(total);
        }

        /// <summary>The chunk was answered (stored or refused) or was already on the server.</summary>
        public void Settled(int index)
        {
            TaskCompletionSource? advanced = null;
            lock (_gate)
            {
                if (index < 0 || index >= _settled.Length)
                {
                    return;
                }

                _settled[index] = true;
                var before = _firstOpen;
                while (_firstOpen < _settled.Length && _settled[_firstOpen])
                {
                    _firstOpen++;
                }

                if (_firstOpen != before)
                {
                    advanced = _advanced;
                    _advanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }

            advanced?.SetResult();
        }

        public async Task WaitForRoomAsync(int index, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task advanced;
                lock (_gate)
                {
                    if (index < _firstOpen + Span)
                    {
                        return;
                    }

                    advanced = _advanced.Task;
                }

                await advanced.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One connection's share of an upload: its stream, its credit window and its acknowledgements.</summary>
    private sealed class UploadLane : IAsyncDisposable
    {
        private readonly SxpConnection _connection;
        private readonly SxpStream _stream;
        private readonly SemaphoreSlim _credit;
        private readonly int _window;
        private readonly bool _ownsStream;
        private readonly List<int> _damaged = [];
        private readonly CancellationTokenSource _stopAcks = new();
        private Task _acks = Task.CompletedTask;
        private long _bytesSent;

        public UploadLane(SxpConnection connection, SxpStream stream, int window, bool ownsStream)
        {
            _connection = connection;
            _stream = stream;
            _window = Math.Max(1, window);
            _credit = new SemaphoreSlim(_window, _window);
            _ownsStream = ownsStream;
        }

        public long BytesSent => Interlocked.Read(ref _bytesSent);

        public Exception? Failure { get; private set; }

        public static async Task<UploadLane> AttachAsync(SxpConnection connection, string uploadId, CancellationToken cancellationToken)
        {
            var stream = connection.OpenStream();
            try
            {
                await connection.SendControlAsync(FrameType.UploadAttach, stream.Id, new UploadAttachRequest(uploadId), SxpJsonContext.Default.UploadAttachRequest, cancellationToken).ConfigureAwait(false);
                using var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
                var ready = SxpConnection.ExpectControl(frame, FrameType.UploadReady, SxpJsonContext.Default.UploadReadyResponse);
                return new UploadLane(connection, stream, ready.Window, ownsStream: true);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        public void StartAcks(int chunkSize, UploadProgress progress, CancellationTokenSource failure)
        {
            _acks = Task.Run(async () =>
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(failure.Token, _stopAcks.Token);
                try
                {
                    while (true)
                    {
                        using var frame = await _stream.ReadAsync(linked.Token).ConfigureAwait(false);
                        if (frame.Type != FrameType.ChunkAck || !PayloadReader.TryReadChunkAck(frame.Payload.Span, out var offset, out var length, out var stored))
                        {
                            throw new SxpException(ErrorCode.BadFrame, $"Expected a chunk acknowledgement, got {frame.Type}.");
                        }

                        progress.Settled((int)(offset / chunkSize));
                        if (stored)
                        {
                            progress.Add(length);
                        }
                        else
                        {
                            lock (_damaged)
                            {
                                _damaged.Add((int)(offset / chunkSize));
                            }
                        }

                        _credit.Release();
                    }
                }
                catch (OperationCanceledException)
                {
                    // Stopped after the last acknowledgement, or because another lane failed.
                }
                catch (Exception ex)
                {
                    Failure = ex;
                    await failure.CancelAsync().ConfigureAwait(false);
                }
            });
        }

        public async Task SendAllAsync(ChannelReader<PendingChunk> work, RatePacer pacer, CancellationToken cancellationToken)
        {
            await foreach (var chunk in work.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await _credit.WaitAsync(cancellationToken).ConfigureAwait(false);
                    await pacer.PaceAsync(chunk.Length, cancellationToken).ConfigureAwait(false);
                    await _connection.SendDataAsync(_stream.Id, chunk.Offset, chunk.Crc, chunk.Buffer.Memory[..chunk.Length], cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref _bytesSent, chunk.Length);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Failure ??= ex;
                    throw;
                }
                finally
                {
                    chunk.Buffer.Dispose();
                }
            }
        }

        /// <summary>Waits until every chunk sent on this lane has been acknowledged.</summary>
        public async Task DrainAsync(CancellationToken cancellationToken)
        {
            for (var i = 0; i < _window; i++)
            {
                await _credit.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            _credit.Release(_window);
        }

        public List<int> TakeDamaged()
        {
            lock (_damaged)
            {
                var taken = _damaged.ToList();
                _damaged.Clear();
                return taken;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stopAcks.CancelAsync().ConfigureAwait(false);
            await _acks.ConfigureAwait(false);
            if (_ownsStream)
            {
                _stream.Dispose();
            }

            _stopAcks.Dispose();
            _credit.Dispose();
        }
    }
}
