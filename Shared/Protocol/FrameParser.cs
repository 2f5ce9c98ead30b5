using System.Buffers;

namespace SecureXfer.Shared.Protocol;

/// <summary>Outcome of looking for one frame at the front of a buffer.</summary>
public enum ParseStatus
{
    /// <summary>A whole frame is available.</summary>
    Complete,

    /// <summary>More bytes are needed; nothing is wrong yet.</summary>
    Incomplete,

    /// <summary>The header declares a payload larger than allowed. The body is never awaited.</summary>
    TooLarge,

    /// <summary>The header names a frame type this version does not know.</summary>
    Malformed,
}

/// <summary>
/// Pure framing logic, kept apart from I/O: finds a frame at the front of a buffer and
/// slices its payload without copying. The length is judged against the limit before
/// any payload byte is awaited, so an oversized header costs nothing to refuse.
/// </summary>
public static class FrameParser
{
    public static ParseStatus TryParse(
        in ReadOnlySequence<byte> buffer,
        int maxPayload,
        out FrameHeader header,
        out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (!FrameHeader.TryPeek(buffer, out header))
        {
            return ParseStatus.Incomplete;
        }

        if (header.Length > (uint)maxPayload)
        {
            return ParseStatus.TooLarge;
        }

        if (!Enum.IsDefined(header.Type))
        {
            return ParseStatus.Malformed;
        }

        long total = SxpLimits.HeaderSize + (long)header.Length;
        if (buffer.Length < total)
        {
            return ParseStatus.Incomplete;
        }

        payload = buffer.Slice(SxpLimits.HeaderSize, header.Length);
        return ParseStatus.Complete;
    }
}
