using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Generators;

namespace SecureXfer.Server.Accounts;

/// <summary>
/// bcrypt ($2b$) password hashing. bcrypt reads at most 72 bytes of a password and would
/// silently ignore the rest, so longer passwords are refused instead of truncated.
/// </summary>
public sealed class PasswordHasher(int cost)
{
    public const int MaxPasswordBytes = 72;
    public const int MinPasswordLength = 8;

    private readonly Lazy<string> _decoy = new(() => Generate(RandomNumberGenerator.GetHexString(24), cost));

    public string Hash(string password)
    {
        PasswordRules.ThrowIfInvalid(password);
        return Generate(password, cost);
    }

    public static bool Verify(string password, string hash)
    {
        if (Encoding.UTF8.GetByteCount(password) > MaxPasswordBytes || string.IsNullOrEmpty(password))
        {
            return false;
        }

        try
        {
            return OpenBsdBCrypt.CheckPassword(hash, password.ToCharArray());
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Spends the same time as a real check, so an unknown user cannot be told from a wrong password.</summary>
    public void VerifyDecoy(string password) => _ = Verify(string.IsNullOrEmpty(password) ? "x" : password, _decoy.Value);

    private static string Generate(string password, int workFactor) =>
        OpenBsdBCrypt.Generate("2b", password.ToCharArray(), RandomNumberGenerator.GetBytes(16), workFactor);
}

/// <summary>What makes a password acceptable.</summary>
public static class PasswordRules
{
    /// <summary>The reason a password is refused, or null when it is acceptable.</summary>
    public static string? Problem(string? password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < PasswordHasher.MinPasswordLength)
        {
            return $"Passwords need at least {PasswordHasher.MinPasswordLength} characters.";
        }

        if (Encoding.UTF8.GetByteCount(password) > PasswordHasher.MaxPasswordBytes)
        {
            return $"Passwords may be at most {PasswordHasher.MaxPasswordBytes} bytes in UTF-8 (bcrypt ignores anything longer).";
        }

        return password.Any(c => c == '\0') ? "Passwords may not contain NUL characters." : null;
    }

    public static void ThrowIfInvalid(string? password)
    {
        if (Problem(password) is { } problem)
        {
            throw new ArgumentException(problem, nameof(password));
        }
    }
}
