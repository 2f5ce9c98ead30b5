using System.Security.Cryptography;
using System.Text;

namespace SecureXfer.Server.Accounts;

/// <summary>
/// Bearer secrets the server hands out (refresh tokens <c>sxr_</c>, API keys <c>sxk_</c>):
/// <c>PREFIX + id + "." + secret</c>. The id finds the row; only the SHA-256 of the 256-bit
/// secret is stored, and it is compared in constant time.
/// </summary>
public static class Secrets
{
    public const string RefreshPrefix = "sxr_";
    public const string ApiKeyPrefix = "sxk_";

    public static (string Id, string Secret, string Text) Create(string prefix)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (id, secret, prefix + id + "." + secret);
    }

    public static bool TryParse(string? text, string prefix, out string id, out string secret)
    {
        id = secret = string.Empty;
        if (text is null || text.Length > 200 || !text.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var dot = text.IndexOf('.', prefix.Length);
        if (dot < 0)
        {
            return false;
        }

        id = text[prefix.Length..dot];
        secret = text[(dot + 1)..];
        return id.Length == 24 && id.All(char.IsAsciiHexDigitLower) && secret.Length > 0;
    }

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool Matches(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(storedHash));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
