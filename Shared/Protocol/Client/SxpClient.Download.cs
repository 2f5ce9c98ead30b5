using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;

namespace SecureXfer.Shared.Protocol.Client;

public sealed partial class SxpClient
{
    private const string PartialSuffix = ".sxpart";
    private const long MinimumSplit = 8L * 1024 * 1024;

    /// <summary>What one lane asks for at a time when several share a download.</summary>
    private const long LanePiece = 8L * 1024 * 1024;

    /// <summary>Received bytes are written in batches of this size.</summary>
    private const int WriteBatch = 4 * 1024 * 1024;

    /// <summary>
    /// Downloads one file into <paramref name="localPath"/>. Bytes land in a partial file beside
    /// the target, with a small state file recording which ranges are in place; a rerun fetches
    /// only what is missing. The target appears, by rename, only after the SHA-256 the server
    /// recorded matches the bytes on disk, with the server's modification time.
    /// </summary>
    public async Task<TransferResult> DownloadAsync(string remotePath, string localPath, TransferOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var primary = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var partialPath = localPath + PartialSuffix;
        var statePath = partialPath + ".json";
        Endpoints.PartialDownload.RemoveLinks(partialPath, statePath);

        var pacer = new RatePacer(options.RateLimit);

        // A fresh download asks for its first piece straight away: the answer's header carries the
        // size and SHA-256, so a small file takes one request. A partial one is checked first.
        var fresh = !File.Exists(statePath) || !File.Exists(partialPath);
        DownloadReadyResponse? probe = null;
        ByteRanges done;
        if (fresh)
        {
            File.Delete(statePath);
            done = new ByteRanges();
        }
        else
        {
            probe = await ProbeAsync(primary, remotePath, cancellationToken).ConfigureAwait(false);
            done = PartialState.Load(statePath, partialPath, probe.Size, probe.Sha256);
        }

        var resumedFrom = done.Total;
        long received = 0;
        using var file = File.OpenHandle(partialPath, fresh ? FileMode.Create : FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var direct = DirectIo.TryReopen(file, writable: true);
        using var hash = new OrderedHasher(maxPending: 2 * Math.Clamp(options.Parallel, 1, 16) + 2);
        var target = new DownloadTarget(file, direct, hash);
        var saveGate = new SemaphoreSlim(1, 1);
        var lastSave = Environment.TickCount64;

        void Stored(long offset, int length)
        {
            long prefix;
            lock (done)
            {
                done.Add(offset, offset + length);
                prefix = done.ContiguousPrefix;
            }

            // Keeps the hash moving over what is in place, so little is left to read back at the end.
            hash.CatchUp(prefix, file, target.Direct);
            var total = resumedFrom + Interlocked.Add(ref received, length);
            progress?.Report(total);
            if (probe is not null && Environment.TickCount64 - lastSave > 1000 && saveGate.Wait(0))
            {
                try
                {
                    lastSave = Environment.TickCount64;
                    lock (done)
                    {
                        PartialState.Save(statePath, probe.Size, probe.Sha256, done);
                    }
                }
                finally
                {
                    saveGate.Release();
                }
            }
        }

        try
        {
            progress?.Report(resumedFrom);
            if (fresh)
            {
                probe = await FetchRangeAsync(primary, remotePath, null, 0, MinimumSplit, clamp: true, target, pacer, Stored, cancellationToken).ConfigureAwait(false);
            }

            var meta = probe!;
            var missing = done.Missing(meta.Size);
            var remaining = missing.Sum(r => r.End - r.Start);
            var lanesWanted = Math.Clamp((int)Math.Min(options.Parallel, Math.Max(1, remaining / MinimumSplit)), 1, 16);

            // One lane streams each missing range whole; several lanes take pieces in file order, so
            // what they bring lands near the hashed prefix and is hashed from memory.
            var pieces = lanesWanted == 1 ? missing : Split(missing, LanePiece);
            var connections = pieces.Count == 0 ? [] : await ConnectionsAsync(lanesWanted, cancellationToken).ConfigureAwait(false);
            var queue = new Queue<(long Start, long End)>(pieces);

            async Task RunLaneAsync(SxpConnection connection)
            {
                while (true)
                {
                    (long Start, long End) piece;
                    lock (queue)
                    {
                        if (!queue.TryDequeue(out piece))
                        {
                            return;
                        }
                    }

                    await FetchRangeAsync(connection, remotePath, meta.Sha256, piece.Start, piece.End - piece.Start, clamp: false, target, pacer, Stored, cancellationToken).ConfigureAwait(false);
                }
            }

            await Task.WhenAll(connections.Select(RunLaneAsync)).ConfigureAwait(false);

            hash.CatchUp(meta.Size, file, target.Direct);
            var actual = HashText.ToHex(hash.Finish());
            if (!HashText.Sha256Equals(actual, meta.Sha256))
            {
                direct?.Dispose();
                file.Dispose();
                File.Delete(partialPath);
                File.Delete(statePath);
                throw new SxpException(ErrorCode.IntegrityFailed, $"SHA-256 mismatch for {remotePath}: expected {meta.Sha256}, got {actual}. The partial download was discarded.");
            }

            // The copy carries the server's modification time, so a later comparison of size and time finds it current.
            File.SetLastWriteTimeUtc(file, meta.Modified.UtcDateTime);
            RandomAccess.FlushToDisk(file);
            direct?.Dispose();
            file.Dispose();
            if (options.Overwrite == OverwritePolicy.Fail && Path.Exists(localPath))
            {
                // Kept (with its state) for a later run that may replace it.
                throw new SxpException(ErrorCode.Conflict, $"'{localPath}' appeared while it was being downloaded; it was left as it is.");
            }

            File.Move(partialPath, localPath, overwrite: options.Overwrite == OverwritePolicy.Replace);
            File.Delete(statePath);
            return new TransferResult(localPath, remotePath, meta.Size, resumedFrom, received, actual);
        }
        finally
        {
            if (File.Exists(partialPath))
            {
                if (probe is null)
                {
                    // Nothing is known about the remote file: a partial file without a state is never trusted.
                    direct?.Dispose();
                    file.Dispose();
                    File.Delete(partialPath);
                }
                else
                {
                    lock (done)
                    {
                        PartialState.Save(statePath, probe.Size, probe.Sha256, done);
                    }
                }
            }

            saveGate.Dispose();
        }
    }

    /// <summary>Asks for a zero-length range: the server answers with the size and recorded SHA-256.</summary>
    private static async Task<DownloadReadyResponse> ProbeAsync(SxpConnection connection, string remotePath, CancellationToken cancellationToken)
    {
        using var stream = connection.OpenStream();
        await connection.SendControlAsync(FrameType.DownloadOpen, stream.Id, new DownloadOpenRequest(remotePath, 0, 0), SxpJsonContext.Default.DownloadOpenRequest, cancellationToken).ConfigureAwait(false);
        DownloadReadyResponse ready;
        using (var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ready = SxpConnection.ExpectControl(frame, FrameType.DownloadReady, SxpJsonContext.Default.DownloadReadyResponse);
        }

        using var end = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (end.Type != FrameType.DownloadEnd)
        {
            throw new SxpException(ErrorCode.BadFrame, $"Expected the end of an empty range, got {end.Type}.");
        }

        return ready;
    }

    /// <summary>
    /// Fetches one byte range into the partial file. With <paramref name="expectedSha256"/>, the
    /// server's file must still be that version; with <paramref name="clamp"/>, a range past the end
    /// is cut at the end. Returns the server's description of the file.
    /// </summary>
    private static async Task<DownloadReadyResponse> FetchRangeAsync(
        SxpConnection connection, string remotePath, string? expectedSha256, long start, long length, bool clamp,
        DownloadTarget target, RatePacer pacer, Action<long, int> stored, CancellationToken cancellationToken)
    {
        using var stream = connection.OpenStream();
        await connection.SendControlAsync(FrameType.DownloadOpen, stream.Id, new DownloadOpenRequest(remotePath, start, length) { Clamp = clamp }, SxpJsonContext.Default.DownloadOpenRequest, cancellationToken).ConfigureAwait(false);
        DownloadReadyResponse ready;
        using (var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ready = SxpConnection.ExpectControl(frame, FrameType.DownloadReady, SxpJsonContext.Default.DownloadReadyResponse);
            if (expectedSha256 is not null && !HashText.Sha256Equals(ready.Sha256, expectedSha256))
            {
                throw new SxpException(ErrorCode.Conflict, $"{remotePath} changed on the server during the download; run it again.");
            }
        }

        length = ready.Length;

        // Frames are gathered into an aligned buffer and written a few MiB at a time.
        var batch = length == 0 ? null : AlignedBuffer.Rent((int)Math.Min(WriteBatch, DirectIo.RoundUp(length)));
        var batchStart = start;
        var batchLength = 0;
        try
        {
            var expected = start;
            while (true)
            {
                using var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (frame.Type == FrameType.DownloadEnd)
                {
                    break;
                }

                if (frame.Type != FrameType.Data || !PayloadReader.TryReadData(frame.PayloadSequence, out var offset, out var crc, out var data))
                {
                    throw new SxpException(ErrorCode.BadFrame, $"Expected file data, got {frame.Type}.");
                }

                if (offset != expected || offset + data.Length > start + length || batch is null)
                {
                    throw new SxpException(ErrorCode.BadFrame, $"The server sent bytes at offset {offset}, expected {expected}.");
                }

                var bytes = frame.Payload[SxpLimits.DataPrefixSize..];
                if (Crc32C.Compute(bytes.Span) != crc)
                {
                    throw new SxpException(ErrorCode.IntegrityFailed, $"A chunk of {remotePath} at offset {offset} arrived damaged.");
                }

                await pacer.PaceAsync(bytes.Length, cancellationToken).ConfigureAwait(false);
                var source = bytes;
                while (!source.IsEmpty)
                {
                    var take = Math.Min(source.Length, batch.Capacity - batchLength);
                    source[..take].CopyTo(batch.Memory[batchLength..]);
                    batchLength += take;
                    source = source[take..];
                    if (batchLength == batch.Capacity)
                    {
                        // The write takes the buffer over (it is hashed, kept or returned there), whatever happens.
                        var full = batch;
                        batch = null;
                        await target.WriteAsync(full, batchStart, batchLength, stored, cancellationToken).ConfigureAwait(false);
                        batch = AlignedBuffer.Rent(full.Capacity);
                        batchStart += batchLength;
                        batchLength = 0;
                    }
                }

                expected += bytes.Length;
            }

            if (batchLength > 0)
            {
                var full = batch!;
                batch = null;
                await target.WriteAsync(full, batchStart, batchLength, stored, cancellationToken).ConfigureAwait(false);
            }

            if (expected != start + length)
            {
                throw new SxpException(ErrorCode.BadFrame, $"The server ended the range at {expected}, expected {start + length}.");
            }
        }
        finally
        {
            batch?.Dispose();
        }

        return ready;
    }

    /// <summary>Cuts the missing ranges into pieces of at most <paramref name="pieceSize"/> bytes, in file order.</summary>
    private static List<(long Start, long End)> Split(List<(long Start, long End)> missing, long pieceSize)
    {
        var pieces = new List<(long, long)>();
        foreach (var (start, end) in missing)
        {
            for (var position = start; position < end; position += pieceSize)
            {
                pieces.Add((position, Math.Min(end, position + pieceSize)));
            }
        }

        return pieces;
    }

    /// <summary>The partial file of a download, its unbuffered handle if any, and the running hash.</summary>
    private sealed class DownloadTarget(SafeFileHandle file, SafeFileHandle? direct, OrderedHasher hash)
    {
        private volatile bool _directFailed;

        /// <summary>The unbuffered handle while it works; null once the file system has refused an unbuffered write.</summary>
        public SafeFileHandle? Direct => _directFailed ? null : direct;

        /// <summary>Writes a batch (unbuffered when aligned), hands the buffer to the hash, and records the bytes as in place. Owns the buffer from the call on.</summary>
        public async Task WriteAsync(AlignedBuffer buffer, long offset, int length, Action<long, int> stored, CancellationToken cancellationToken)
        {
            try
            {
                var unbuffered = Direct is not null && DirectIo.IsAligned(offset, length);
                try
                {
                    await RandomAccess.WriteAsync(unbuffered ? Direct! : file, buffer.Memory[..length], offset, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException) when (unbuffered)
                {
                    // Some file systems take O_DIRECT at open and refuse the writes: ordinary writes from now on.
                    _directFailed = true;
                    await RandomAccess.WriteAsync(file, buffer.Memory[..length], offset, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                buffer.Dispose();
                throw;
            }

            hash.Offer(offset, buffer, length);
            stored(offset, length);
        }
    }

    private static class PartialState
    {
        /// <summary>The ranges already in place, if the partial file belongs to this same remote version; otherwise a fresh start.</summary>
        public static ByteRanges Load(string statePath, string partialPath, long size, string sha256)
        {
            var ranges = new ByteRanges();
            try
            {
                if (File.Exists(statePath) && File.Exists(partialPath))
                {
                    var state = JsonSerializer.Deserialize(File.ReadAllText(statePath), PartialStateJson.Default.PartialStateFile);
                    var partialLength = new FileInfo(partialPath).Length;
                    if (state is not null && state.Size == size && HashText.Sha256Equals(state.Sha256, sha256))
                    {
                        foreach (var range in state.Ranges.Where(r => r.Length == 2))
                        {
                            ranges.Add(range[0], Math.Min(range[1], partialLength));
                        }

                        return ranges;
                    }
                }
            }
            catch (JsonException)
            {
                // An unreadable state file means starting over, never trusting the partial bytes.
            }

            File.Delete(partialPath);
            File.Delete(statePath);
            return ranges;
        }

        public static void Save(string statePath, long size, string sha256, ByteRanges ranges)
        {
            var state = new PartialStateFile(size, sha256, ranges.Ranges.Select(r => new[] { r.Start, r.End }).ToList());
            var temporary = statePath + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(state, PartialStateJson.Default.PartialStateFile));
            File.Move(temporary, statePath, overwrite: true);
        }
    }
}

/// <summary>The state file of a partial download: which remote version it is, and which ranges are in place.</summary>
internal sealed record PartialStateFile(long Size, string Sha256, List<long[]> Ranges);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(PartialStateFile))]
internal sealed partial class PartialStateJson : System.Text.Json.Serialization.JsonSerializerContext;
