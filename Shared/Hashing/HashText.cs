using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

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

    public static async Task<string> Sha256OfFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
        var digest = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return ToHex(digest);
    }
}
