using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Persistence;

namespace SecureXfer.Server.Accounts;

/// <summary>An access token with the refresh token that renews it.</summary>
public sealed record IssuedTokens(string AccessToken, DateTimeOffset ExpiresAt, string RefreshToken, DateTimeOffset RefreshExpiresAt);

/// <summary>
/// Refresh tokens (rotating, single use, revocable by family), logout, and API keys. Secrets are
/// shown once and stored only as hashes; a refresh token used twice revokes its whole family,
/// because one of the two uses was a copy.
/// </summary>
public sealed partial class CredentialService(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    TokenService tokens,
    IOptions<SecureXferOptions> options,
    TimeProvider time,
    ILogger<CredentialService> logger)
{
    public const int MaxKeysPerUser = 100;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>An access token and a refresh token starting a new family (at login).</summary>
    public Task<IssuedTokens> IssueAsync(UserAccount user, CancellationToken cancellationToken) =>
        IssueAsync(user, Guid.NewGuid().ToString("N"), cancellationToken);

    /// <summary>
    /// Trades a refresh token for new tokens, or gives none (unknown, expired, revoked, reused, or
    /// the account changed). <c>Forged</c> says the token was never one of ours (malformed, no
    /// such id, or the wrong secret): only that counts as guessing.
    /// </summary>
    public async Task<(IssuedTokens? Issued, bool Forged)> RefreshAsync(string? refreshToken, CancellationToken cancellationToken)
    {
        if (!Secrets.TryParse(refreshToken, Secrets.RefreshPrefix, out var id, out var secret))
        {
            return (null, true);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await db.RefreshTokens.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken).ConfigureAwait(false);
        if (row is null || !Secrets.Matches(secret, row.SecretHash))
        {
            return (null, true);
        }

        if (row.RevokedAt is not null || row.ExpiresAt <= Now)
        {
            return (null, false);
        }

        // Exactly one use wins, even when two arrive together; any other use is a reuse.
        var claimed = await db.RefreshTokens.Where(t => t.Id == id && t.UsedAt == null)
            .ExecuteUpdateAsync(t => t.SetProperty(x => x.UsedAt, Now), cancellationToken).ConfigureAwait(false);
        if (claimed != 1)
        {
            await RevokeFamilyAsync(db, row.FamilyId, cancellationToken).ConfigureAwait(false);
            LogReuse(logger, row.UserId);
            return (null, false);
        }

        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == row.UserId, cancellationToken).ConfigureAwait(false);
        if (user is null || user.Disabled || user.SecurityStamp != row.Stamp)
        {
            await RevokeFamilyAsync(db, row.FamilyId, cancellationToken).ConfigureAwait(false);
            return (null, false);
        }

        return (await IssueAsync(user, row.FamilyId, cancellationToken).ConfigureAwait(false), false);
    }

    /// <summary>Ends the access token <paramref name="jti"/> now, and the refresh family of <paramref name="refreshToken"/> if it is the user's.</summary>
    public async Task LogoutAsync(long userId, string? jti, DateTimeOffset? accessExpires, string? refreshToken, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (jti is not null)
        {
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"INSERT INTO revoked_tokens (jti, expires_at) VALUES ({jti}, {(accessExpires ?? time.GetUtcNow() + options.Value.TokenLifetime).ToUnixTimeMilliseconds()}) ON CONFLICT (jti) DO NOTHING",
                cancellationToken).ConfigureAwait(false);
        }

        if (Secrets.TryParse(refreshToken, Secrets.RefreshPrefix, out var id, out _)
            && await db.RefreshTokens.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id && t.UserId == userId, cancellationToken).ConfigureAwait(false) is { } row)
        {
            await RevokeFamilyAsync(db, row.FamilyId, cancellationToken).ConfigureAwait(false);
        }

        // Expired entries are of no further use.
        var now = Now;
        await db.RevokedTokens.Where(r => r.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        LogLoggedOut(logger, userId);
    }

    public async Task<(ApiKeyRecord Key, string Secret)> CreateKeyAsync(long userId, string? name, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || name.Any(char.IsControl))
        {
            throw new AccountException(AccountError.Invalid, "name has 1 to 100 characters and no control characters.", "name");
        }

        if (expiresAt is { } expiry && expiry <= time.GetUtcNow())
        {
            throw new AccountException(AccountError.Invalid, "expiresAt is in the future.", "expiresAt");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (await db.ApiKeys.CountAsync(k => k.UserId == userId && k.RevokedAt == null, cancellationToken).ConfigureAwait(false) >= MaxKeysPerUser)
        {
            throw new AccountException(AccountError.Conflict, $"At most {MaxKeysPerUser} live keys per user; revoke one first.");
        }

        var (id, secret, text) = Secrets.Create(Secrets.ApiKeyPrefix);
        var key = new ApiKeyRecord
        {
            Id = id,
            UserId = userId,
            Name = name.Trim(),
            SecretHash = Secrets.Hash(secret),
            CreatedAt = Now,
            ExpiresAt = expiresAt?.ToUnixTimeMilliseconds(),
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        LogKeyCreated(logger, userId, id);
        return (key, text);
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(long userId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.ApiKeys.AsNoTracking().Where(k => k.UserId == userId).OrderBy(k => k.CreatedAt).ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Revokes one of the user's keys; another user's key is "not found", as if it did not exist.</summary>
    public async Task RevokeKeyAsync(long userId, string keyId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var now = Now;
        var changed = await db.ApiKeys.Where(k => k.Id == keyId && k.UserId == userId)
            .ExecuteUpdateAsync(k => k.SetProperty(x => x.RevokedAt, x => x.RevokedAt ?? now), cancellationToken).ConfigureAwait(false);
        if (changed == 0)
        {
            throw new AccountException(AccountError.NotFound, $"No key {keyId}.");
        }

        LogKeyRevoked(logger, userId, keyId);
    }

    private async Task<IssuedTokens> IssueAsync(UserAccount user, string familyId, CancellationToken cancellationToken)
    {
        var (access, expires) = tokens.Issue(user);
        var (id, secret, text) = Secrets.Create(Secrets.RefreshPrefix);
        var refreshExpires = time.GetUtcNow() + options.Value.RefreshTokenLifetime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.RefreshTokens.Add(new RefreshTokenRecord
        {
            Id = id,
            FamilyId = familyId,
            UserId = user.Id,
            SecretHash = Secrets.Hash(secret),
            Stamp = user.SecurityStamp,
            CreatedAt = Now,
            ExpiresAt = refreshExpires.ToUnixTimeMilliseconds(),
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return new IssuedTokens(access, expires, text, refreshExpires);
    }

    private async Task RevokeFamilyAsync(SecureXferDbContext db, string familyId, CancellationToken cancellationToken)
    {
        var now = Now;
        await db.RefreshTokens.Where(t => t.FamilyId == familyId && t.RevokedAt == null)
            .ExecuteUpdateAsync(t => t.SetProperty(x => x.RevokedAt, now), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "A refresh token of user {UserId} was used twice; its family is revoked")]
    private static partial void LogReuse(ILogger logger, long userId);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "User {UserId} logged out")]
    private static partial void LogLoggedOut(ILogger logger, long userId);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "User {UserId} created API key {KeyId}")]
    private static partial void LogKeyCreated(ILogger logger, long userId, string keyId);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "User {UserId} revoked API key {KeyId}")]
    private static partial void LogKeyRevoked(ILogger logger, long userId, string keyId);
}
