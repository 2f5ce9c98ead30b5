using System.Buffers.Binary;

namespace SecureXfer.Fuzz;

/// <summary>
/// Deterministic input mutation (a seed gives the same sequence): bit flips, byte changes,
/// inserts, deletes, duplicated and spliced ranges, and integers chosen to sit on boundaries,
/// written at random positions in either byte order.
/// </summary>
public sealed class Mutator(int seed)
{
    private static readonly long[] Interesting =
    [
        0, 1, -1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        long.MaxValue, long.MinValue, 12, 11, 13, 64 * 1024, (16 * 1024 * 1024) + 1, 1 << 20,
    ];

    public Random Random { get; } = new(seed);

    public byte[] Mutate(ReadOnlySpan<byte> input, ReadOnlySpan<byte> other)
    {
        var data = new List<byte>(input.ToArray());
        var rounds = 1 + Random.Next(4);
        for (var i = 0; i < rounds; i++)
        {
            MutateOnce(data, other);
        }

        return [.. data];
    }

    private void MutateOnce(List<byte> data, ReadOnlySpan<byte> other)
    {
        switch (data.Count == 0 ? 2 : Random.Next(8))
        {
            case 0:
                data[Random.Next(data.Count)] ^= (byte)(1 << Random.Next(8));
                break;
            case 1:
                data[Random.Next(data.Count)] = (byte)Random.Next(256);
                break;
            case 2:
                data.InsertRange(Random.Next(data.Count + 1), RandomBytes(1 + Random.Next(16)));
                break;
            case 3:
                var at = Random.Next(data.Count);
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + Random.Next(16)));
                break;
            case 4:
                var start = Random.Next(data.Count);
                var length = Math.Min(data.Count - start, 1 + Random.Next(64));
                data.InsertRange(Random.Next(data.Count + 1), data.GetRange(start, length));
                break;
            case 5:
                if (other.Length > 0)
                {
                    var from = Random.Next(other.Length);
                    data.InsertRange(Random.Next(data.Count + 1), other[from..Math.Min(other.Length, from + 1 + Random.Next(64))].ToArray());
                }

                break;
            case 6:
                WriteInteger(data);
                break;
            default:
                var keep = Random.Next(data.Count);
                data.RemoveRange(keep, data.Count - keep);
                break;
        }
    }

    private void WriteInteger(List<byte> data)
    {
        var value = Interesting[Random.Next(Interesting.Length)];
        var width = new[] { 1, 2, 4, 8 }[Random.Next(4)];
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        var slice = bytes[(8 - width)..].ToArray();
        if (Random.Next(2) == 0)
        {
            Array.Reverse(slice);
        }

        var at = Random.Next(data.Count + 1);
        for (var i = 0; i < slice.Length; i++)
        {
            if (at + i < data.Count)
            {
                data[at + i] = slice[i];
            }
            else
            {
                data.Add(slice[i]);
            }
        }
    }

    public byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.NextBytes(bytes);
        return bytes;
    }
}
