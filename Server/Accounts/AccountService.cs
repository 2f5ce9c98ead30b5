using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;

namespace SecureXfer.Server.Accounts;

/// <summary>
/// Accounts: password login, and turning a verified token into the acting user. Every
/// front-end (REST and SXP) authenticates through here, so the rules live in one place.
/// </summary>
public sealed partial class AccountService(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    PasswordHasher hasher,
    TokenService tokens,
    TimeProvider time,
    Observability.ServerMetrics metrics,
    ILogger<AccountService> logger)
{
    public const string AdminPasswordVariable = "SECUREXFER_ADMIN_PASSWORD";

    /// <summary>Checks a username and password. Unknown users, wrong passwords and disabled accounts look the same and take the same time.</summary>
    public async Task<UserAccount?> CheckPasswordAsync(string? username, string? password, CancellationToken cancellationToken)
    {
        password ??= string.Empty;
        UserAccount? user = null;
        if (UsernameRules.Problem(username) is null)
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            user = await db.Users.AsNoTracking().SingleOrDefaultAsync(SameUsername(db, username!), cancellationToken).ConfigureAwait(false);
        }

        if (user is null)
        {
            hasher.VerifyDecoy(password);
            return null;
        }

        var valid = PasswordHasher.Verify(password, user.PasswordHash);
        return valid && !user.Disabled ? user : null;
    }

    /// <summary>Whether an account of that name exists (for records about failed logins, not for answers to clients).</summary>
    public async Task<bool> ExistsAsync(string? username, CancellationToken cancellationToken)
    {
        if (UsernameRules.Problem(username) is not null)
        {
            return false;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.Users.AnyAsync(SameUsername(db, username!), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Usernames are ASCII and unique whatever their case: SQLite's column compares NOCASE (and its
    /// index serves that), PostgreSQL's unique index is on lower(username), which this matches.
    /// </summary>
    private static System.Linq.Expressions.Expression<Func<UserAccount, bool>> SameUsername(SecureXferDbContext db, string username)
    {
        if (db.Database.IsSqlite())
        {
            return u => u.Username == username;
        }

        var key = username.ToLowerInvariant();
        return u => u.Username.ToLower() == key;
    }

    /// <summary>A password login: the account when the credentials are good (counted and logged either way), else null.</summary>
    public async Task<UserAccount?> LoginAsync(string? username, string? password, CancellationToken cancellationToken)
    {
        var user = await CheckPasswordAsync(username, password, cancellationToken).ConfigureAwait(false);
        metrics.Login(user is not null);
        if (user is null)
        {
            LogLoginFailed(logger);
            return null;
        }

        LogLoginSucceeded(logger, user.Id);
        return user;
    }

    /// <summary>The acting user for a token, or null if the token or the account behind it is no longer good.</summary>
    public async Task<AuthenticatedUser?> AuthenticateAsync(string token, CancellationToken cancellationToken)
    {
        var identity = await tokens.ValidateAsync(token).ConfigureAwait(false);
        return identity is null ? null : await ResolveAsync(identity, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks a bearer credential: an access token (signature, algorithm, issuer, audience,
    /// lifetime) or an API key (<c>sxk_</c>: known, secret matching). The account behind it is
    /// checked by <see cref="ResolveAsync"/>.
    /// </summary>
    public async Task<(ClaimsIdentity? Identity, bool Forged)> ValidateTokenAsync(string token)
    {
        if (!token.StartsWith(Secrets.ApiKeyPrefix, StringComparison.Ordinal))
        {
            return await tokens.CheckAsync(token).ConfigureAwait(false);
        }

        if (!Secrets.TryParse(token, Secrets.ApiKeyPrefix, out var id, out var secret))
        {
            return (null, true);
        }

        await using var db = await dbFactory.CreateDbContextAsync().ConfigureAwait(false);
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == id).ConfigureAwait(false);
        if (key is null || !Secrets.Matches(secret, key.SecretHash))
        {
            return (null, true);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (key.LastUsedAt is null || now - key.LastUsedAt > 60_000)
        {
            await db.ApiKeys.Where(k => k.Id == id).ExecuteUpdateAsync(k => k.SetProperty(x => x.LastUsedAt, now)).ConfigureAwait(false);
        }

        return (new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, key.UserId.ToString(CultureInfo.InvariantCulture)),
                new Claim(ApiKeyClaim, key.Id),
            ],
            "ApiKey",
            JwtRegisteredClaimNames.Name,
            "role"), false);
    }

    /// <summary>On an identity that came from an API key: the key's id.</summary>
    public const string ApiKeyClaim = "sx_key";

    /// <summary>
    /// Confirms that the credential behind a validated identity still stands: for an access token,
    /// the user exists, is enabled, has the same security stamp, and the token was not logged out;
    /// for an API key, the key is neither revoked nor expired and its user is enabled.
    /// </summary>
    public async Task<AuthenticatedUser?> ResolveAsync(ClaimsIdentity identity, CancellationToken cancellationToken)
    {
        var subject = identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value;
        var stamp = identity.FindFirst(TokenService.StampClaim)?.Value;
        var keyId = identity.FindFirst(ApiKeyClaim)?.Value;
        if (!long.TryParse(subject, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || (stamp is null && keyId is null))
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, cancellationToken).ConfigureAwait(false);
        if (user is null || user.Disabled)
        {
            return null;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (keyId is not null)
        {
            var live = await db.ApiKeys.AnyAsync(k => k.Id == keyId && k.UserId == id && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), cancellationToken).ConfigureAwait(false);
            if (!live)
            {
                return null;
            }
        }
        else if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(stamp!), Encoding.UTF8.GetBytes(user.SecurityStamp)))
        {
            return null;
        }
        else if (identity.FindFirst(JwtRegisteredClaimNames.Jti)?.Value is { } jti
            && await db.RevokedTokens.AnyAsync(r => r.Jti == jti, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new AuthenticatedUser(user.Id, user.Username, user.Role, user.QuotaBytes);
    }

    public async Task<UserAccount> CreateUserAsync(string username, string password, string role, long? quotaBytes, string? displayName, CancellationToken cancellationToken)
    {
        if (UsernameRules.Problem(username) is { } problem)
        {
            throw new ArgumentException(problem, nameof(username));
        }

        if (!Roles.IsKnown(role))
        {
            throw new ArgumentException($"Unknown role '{role}'.", nameof(role));
        }

        var user = new UserAccount
        {
            Username = username,
            PasswordHash = hasher.Hash(password),
            Role = role,
            QuotaBytes = quotaBytes,
            SecurityStamp = NewStamp(),
            DisplayName = string.IsNullOrEmpty(displayName) ? null : displayName,
            CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        user.UpdatedAt = user.CreatedAt;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.Users.Add(user);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return user;
    }

    /// <summary>
    /// On first start with no users, creates <c>admin</c>. Its password comes from
    /// <see cref="AdminPasswordVariable"/>, or is generated, shown once and written to a 0600 file.
    /// </summary>
    public async Task EnsureInitialAdminAsync(DataDirectory data, string? configuredPassword, Action<string> announce, CancellationToken cancellationToken)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await db.Users.AnyAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        var password = configuredPassword;
        if (string.IsNullOrEmpty(password))
        {
            password = GeneratePassword();
            DataDirectory.WriteSecret(data.InitialAdminPassword, password + "\n");
            announce($"Created user 'admin' with a generated password: {password}");
            announce($"It is also in {data.InitialAdminPassword} (mode 0600). Change it after logging in.");
        }
        else
        {
            announce($"Created user 'admin' with the password from {AdminPasswordVariable}.");
        }

        await CreateUserAsync("admin", password, Roles.Admin, null, null, cancellationToken).ConfigureAwait(false);
    }

    public static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string GeneratePassword()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return RandomNumberGenerator.GetString(alphabet, 24);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Login failed")]
    private static partial void LogLoginFailed(ILogger logger);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Login succeeded for user {UserId}")]
    private static partial void LogLoginSucceeded(ILogger logger, long userId);
}

/// <summary>What makes a username acceptable: 1 to 64 of letters, digits, '.', '_', '-', starting with a letter or digit.</summary>
public static class UsernameRules
{
    public static string? Problem(string? username)
    {
        if (string.IsNullOrEmpty(username) || username.Length > 64)
        {
            return "Usernames have 1 to 64 characters.";
        }

        if (!char.IsAsciiLetterOrDigit(username[0]) || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            return "Usernames use letters, digits, '.', '_' and '-', and start with a letter or digit.";
        }

        return null;
    }
}
