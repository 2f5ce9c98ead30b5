using System.Security.Cryptography;

namespace SecureXfer.Tests.Support;

public static class TestFiles
{
    /// <summary>Writes <paramref name="size"/> random bytes in 1 MiB pieces and returns the file's SHA-256 (hex).</summary>
    public static string WriteRandom(string path, long size, int seed = 0)
    {
        var random = seed == 0 ? new Random() : new Random(seed);
        var buffer = new byte[1 << 20];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var stream = File.Create(path);
        for (long written = 0; written < size;)
        {
            var n = (int)Math.Min(buffer.Length, size - written);
            random.NextBytes(buffer.AsSpan(0, n));
            stream.Write(buffer, 0, n);
            sha.AppendData(buffer, 0, n);
            written += n;
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
