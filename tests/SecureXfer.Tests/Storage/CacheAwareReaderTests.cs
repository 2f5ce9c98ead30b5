using System.Security.Cryptography;
using SecureXfer.Shared.IO;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Storage;

public sealed class CacheAwareReaderTests : IDisposable
{
    private readonly TempDir _dir = new("sx-reader");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reads_every_byte_at_any_offset_and_into_any_buffer(bool writtenUnbuffered)
    {
        var bytes = RandomNumberGenerator.GetBytes((3 << 20) + 12_345);
        var path = _dir.Combine("data.bin");
        if (writtenUnbuffered)
        {
            // Written around the page cache, so the reader has to fetch it unbuffered or through the cache.
            using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            using var direct = DirectIo.TryReopen(handle, writable: true);
            var aligned = bytes.Length / DirectIo.Alignment * DirectIo.Alignment;
            using var buffer = AlignedBuffer.Rent(aligned);
            bytes.AsSpan(0, aligned).CopyTo(buffer.Span);
            RandomAccess.Write(direct ?? handle, buffer.Memory[..aligned].Span, 0);
            RandomAccess.Write(handle, bytes.AsSpan(aligned), aligned);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }

        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        using var reader = new CacheAwareReader(file);
        var random = new Random(5);
        foreach (var (offset, length) in new[] { (0L, 65536), (4096L, 1 << 20), (1L, 5000), (8191L, 300_000), ((long)bytes.Length - 100, 4096) }
            .Concat(Enumerable.Range(0, 20).Select(_ => ((long)random.Next(bytes.Length), random.Next(1, 700_000)))))
        {
            var target = new byte[length + 3];
            var destination = target.AsMemory(random.Next(0, 3), length);
            var total = 0;
            while (total < length)
            {
                var read = reader.Read(destination[total..], offset + total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            var expected = (int)Math.Min(length, bytes.Length - offset);
            Assert.Equal(expected, total);
            Assert.True(bytes.AsSpan((int)offset, expected).SequenceEqual(destination.Span[..expected]), $"bytes differ at offset {offset}");
        }
    }
}
