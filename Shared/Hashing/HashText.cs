using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace SecureXfer.Shared.Hashing;

/// <summary>The text form of digests used on the wire and in listings: lowercase hex.</summary>
public static class HashText
{
    public static string ToHex(ReadOnlySpan<byte> digest) => Convert.ToHexStringLower(digest);

    public static bool IsSha256Hex([NotNullWhen(true)] string? value) =>
        value is { Length: 64 } && value.All(char.IsAsciiHexDigit);

    /// <summary>Compares two hex digests without an early exit, case-insensitively.</summary>
    public static bool Sha256Equals(string? a, string? b)
    {
        if (!IsSha256Hex(a) || !IsSha256Hex(b))
        {
            return false;
        }

        Span<byte> x = stackalloc byte[32];
        Span<byte> y = stackalloc byte[32];
        Convert.FromHexString(a, x, out _, out _);
        Convert.FromHexString(b, y, out _, out _);
        return CryptographicOperations.FixedTimeEquals(x, y);
    }

    /// <summary>Feeds bytes [<paramref name="start"/>, <paramref name="end"/>) of an open file into <paramref name="hash"/>, 1 MiB at a time.</summary>
    public static async Task AppendRangeAsync(SafeFileHandle file, IncrementalHash hash, long start, long end, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            for (var offset = start; offset < end;)
            {
                var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, (int)Math.Min(buffer.Length, end - offset)), offset, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException("The file is shorter than expected.");
                }

                hash.AppendData(buffer, 0, read);
                offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
