using System.Buffers;
using System.Security.Cryptography;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Storage;

public sealed class OrderedHasherTests : IDisposable
{
    private readonly TempDir _dir = new("sx-hasher");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1, 64 * 1024, 3)]
    [InlineData(7, 64 * 1024, 2)]
    [InlineData(42, 4096, 8)]
    [InlineData(99, 256 * 1024, 1)]
    public void Pieces_in_any_order_hash_like_the_whole_file(int seed, int piece, int maxPending)
    {
        var random = new Random(seed);
        var size = (40L * piece) + random.Next(1, piece);
        var path = _dir.Combine("file.bin");
        var bytes = new byte[size];
        random.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var count = (int)((size + piece - 1) / piece);
        var order = Enumerable.Range(0, count).OrderBy(_ => random.Next()).ToList();

        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        using var direct = DirectIo.TryReopen(file, writable: true);
        using var hasher = new OrderedHasher(maxPending);
        var present = new bool[count];
        foreach (var index in order)
        {
            var offset = (long)index * piece;
            var length = (int)Math.Min(piece, size - offset);
            switch (random.Next(3))
            {
                case 0:
                    var buffer = AlignedBuffer.Rent(length);
                    bytes.AsSpan((int)offset, length).CopyTo(buffer.Span);
                    hasher.Offer(offset, buffer, length);
                    break;
                case 1:
                    hasher.Offer(offset, bytes.AsSpan((int)offset, length));
                    break;
                default:
                    hasher.Offer(offset, new ReadOnlySequence<byte>(bytes, (int)offset, length));
                    break;
            }

            present[index] = true;
            var prefix = present.TakeWhile(p => p).Count();
            hasher.CatchUp(Math.Min(size, (long)prefix * piece), file, direct);
        }

        hasher.CatchUp(size, file, direct);
        Assert.Equal(size, hasher.Hashed);
        Assert.Equal(SHA256.HashData(bytes), hasher.Finish());
    }

    [Fact]
    public void A_kept_piece_replaced_before_its_turn_is_hashed_in_its_new_form()
    {
        var bytes = RandomNumberGenerator.GetBytes(3 * 4096);
        var path = _dir.Combine("replaced.bin");
        File.WriteAllBytes(path, bytes);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        using var hasher = new OrderedHasher();

        var stale = AlignedBuffer.Rent(4096);
        stale.Span.Fill(0xEE);
        hasher.Offer(4096, stale, 4096);

        // The piece is sent again (unaligned path): the kept copy must not be used.
        hasher.Offer(4096, bytes.AsSpan(4096, 4096));
        hasher.Offer(0, bytes.AsSpan(0, 4096));
        hasher.CatchUp(bytes.Length, file, null);

        Assert.Equal(SHA256.HashData(bytes), hasher.Finish());
    }

    [Fact]
    public void Catching_up_past_the_end_of_the_file_is_an_error_not_a_wrong_hash()
    {
        var path = _dir.Combine("short.bin");
        File.WriteAllBytes(path, new byte[1000]);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        using var hasher = new OrderedHasher();

        Assert.Throws<IOException>(() => hasher.CatchUp(5000, file, null));
    }
}
