using System.Buffers;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Fuzz;

/// <summary>
/// The frame decoder as the server drives it: frames are cut from a byte stream that arrives in
/// arbitrary pieces (so headers and payloads straddle buffer segments), and each payload is
/// decoded by its type. The only acceptable failure is a typed <see cref="SxpException"/>; the
/// decoder's own promises (payload length, consumption, limits) are checked on every frame.
/// </summary>
public static class FrameTarget
{
    private static readonly IReadOnlyList<byte[]> Seeds = Corpus.ClientFrames("eyJhbGciOiJIUzI1NiJ9.e30.c2ln");

    public static FuzzReport Run(int seed, TimeSpan duration) =>
        FuzzRun.Run("frames", seed, duration, m => Corpus.Generate(m, Seeds), Check);

    public static void Check(byte[] input)
    {
        var sequence = Segmented(input);
        var maxPayload = input.Length % 2 == 0 ? SxpLimits.MaxPayloadBeforeHello : SxpLimits.MaxPayload;
        var consumed = 0L;
        while (true)
        {
            var buffer = sequence.Slice(consumed);
            var status = FrameParser.TryParse(buffer, maxPayload, out var header, out var payload);
            if (status != ParseStatus.Complete)
            {
                if (status == ParseStatus.Incomplete && buffer.Length >= SxpLimits.HeaderSize && header.Length <= maxPayload && Enum.IsDefined(header.Type)
                    && buffer.Length >= SxpLimits.HeaderSize + header.Length)
                {
                    throw new InvalidOperationException("A whole frame was reported incomplete.");
                }

                return;
            }

            if (header.Length > maxPayload || payload.Length != header.Length)
            {
                throw new InvalidOperationException($"Payload of {payload.Length} bytes for a header of {header.Length} (limit {maxPayload}).");
            }

            try
            {
                Decode(header.Type, payload);
            }
            catch (SxpException)
            {
                // A typed refusal is what the session sends back; the stream goes on.
            }

            consumed += SxpLimits.HeaderSize + header.Length;
        }
    }

    private static void Decode(FrameType type, ReadOnlySequence<byte> payload)
    {
        switch (type)
        {
            case FrameType.Hello: PayloadReader.ReadControl(payload, SxpJsonContext.Default.HelloRequest); break;
            case FrameType.Auth: PayloadReader.ReadControl(payload, SxpJsonContext.Default.AuthRequest); break;
            case FrameType.Stat or FrameType.List or FrameType.Mkdir: Path(PayloadReader.ReadControl(payload, SxpJsonContext.Default.PathRequest).Path); break;
            case FrameType.Remove: Path(PayloadReader.ReadControl(payload, SxpJsonContext.Default.RemoveRequest).Path); break;
            case FrameType.Move:
                var move = PayloadReader.ReadControl(payload, SxpJsonContext.Default.MoveRequest);
                Path(move.From);
                Path(move.To);
                break;
            case FrameType.SetModified: Path(PayloadReader.ReadControl(payload, SxpJsonContext.Default.SetModifiedRequest).Path); break;
            case FrameType.UploadOpen: Path(PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadOpenRequest).Path); break;
            case FrameType.UploadAttach: PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadAttachRequest); break;
            case FrameType.UploadCommit: PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadCommitRequest); break;
            case FrameType.UploadAbort: PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadAbortRequest); break;
            case FrameType.DownloadOpen: Path(PayloadReader.ReadControl(payload, SxpJsonContext.Default.DownloadOpenRequest).Path); break;
            case FrameType.Data:
                if (PayloadReader.TryReadData(payload, out _, out _, out var data) && data.Length != payload.Length - SxpLimits.DataPrefixSize)
                {
                    throw new InvalidOperationException("DATA bytes do not follow their prefix.");
                }

                break;
            case FrameType.Put:
                var put = PayloadReader.ReadPut(payload, out var bytes);
                if (put.Size != bytes.Length)
                {
                    throw new InvalidOperationException("PUT accepted with a size that does not match its bytes.");
                }

                Path(put.Path);
                break;
            case FrameType.ChunkAck:
                PayloadReader.TryReadChunkAck(payload.ToArray(), out _, out _, out _);
                break;
        }
    }

    /// <summary>Decoded paths go on through canonicalisation, as they do in the server.</summary>
    private static void Path(string? path) => PathTarget.CheckOne(path);

    /// <summary>The input as a sequence of segments cut at places derived from its own bytes.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] input)
    {
        if (input.Length < 2)
        {
            return new ReadOnlySequence<byte>(input);
        }

        var cuts = new List<int>();
        var step = 1 + (input[0] % 23);
        for (var at = step; at < input.Length; at += step + (input[at] % 17))
        {
            cuts.Add(at);
        }

        Segment? first = null, last = null;
        var start = 0;
        foreach (var end in cuts.Append(input.Length))
        {
            var piece = new Segment(input.AsMemory(start, end - start));
            if (first is null)
            {
                first = last = piece;
            }
            else
            {
                last = last!.Append(piece);
            }

            start = end;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory) => Append(new Segment(memory));

        public Segment Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
            return next;
        }
    }
}
