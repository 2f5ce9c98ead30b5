using System.Buffers;
using System.Buffers.Binary;

namespace SecureXfer.Shared.Protocol;

/// <summary>
/// The fixed 12-byte header in front of every SXP frame (all integers big-endian):
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                     Payload length (32)                       |
/// +---------------+---------------+-------------------------------+
/// |   Type (8)    |   Flags (8)   |         Reserved (16)         |
/// +---------------+---------------+-------------------------------+
/// |                        Stream id (32)                         |
/// +---------------------------------------------------------------+
/// |                    Payload (length bytes) ...                 |
/// </code>
/// </summary>
public readonly record struct FrameHeader(uint Length, FrameType Type, FrameFlags Flags, uint StreamId)
{
    private const int LengthOffset = 0;
    private const int TypeOffset = 4;
    private const int FlagsOffset = 5;
    private const int ReservedOffset = 6;
    private const int StreamIdOffset = 8;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[LengthOffset..], Length);
        destination[TypeOffset] = (byte)Type;
        destination[FlagsOffset] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(destination[ReservedOffset..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[StreamIdOffset..], StreamId);
    }

    public static FrameHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32BigEndian(source[LengthOffset..]),
        (FrameType)source[TypeOffset],
        (FrameFlags)source[FlagsOffset],
        BinaryPrimitives.ReadUInt32BigEndian(source[StreamIdOffset..]));

    /// <summary>
    /// Reads a header from the front of <paramref name="buffer"/> without consuming it.
    /// Returns false when fewer than <see cref="SxpLimits.HeaderSize"/> bytes are buffered.
    /// </summary>
    public static bool TryPeek(in ReadOnlySequence<byte> buffer, out FrameHeader header)
    {
        if (buffer.Length < SxpLimits.HeaderSize)
        {
            header = default;
            return false;
        }

        var first = buffer.FirstSpan;
        if (first.Length >= SxpLimits.HeaderSize)
        {
            header = Read(first);
            return true;
        }

        Span<byte> copy = stackalloc byte[SxpLimits.HeaderSize];
        buffer.Slice(0, SxpLimits.HeaderSize).CopyTo(copy);
        header = Read(copy);
        return true;
    }
}
