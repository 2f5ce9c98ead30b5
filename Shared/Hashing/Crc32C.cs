using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace SecureXfer.Shared.Hashing;

/// <summary>CRC-32C (Castagnoli) over the hardware instruction where the CPU has one.</summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Start, data));

    public static uint Compute(in ReadOnlySequence<byte> data)
    {
        var state = Start;
        foreach (var segment in data)
        {
            state = Append(state, segment.Span);
        }

        return Finish(state);
    }

    public const uint Start = 0xFFFFFFFFu;

    public static uint Finish(uint state) => ~state;

    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }
}
