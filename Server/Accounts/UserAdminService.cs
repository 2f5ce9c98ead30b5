using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;

namespace SecureXfer.Server.Accounts;

/// <summary>A page of results and where it sits in the whole.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int Total, int PageNumber, int PageSize);

/// <summary>The fields an update may change; null leaves a field as it is (<see cref="ClearQuota"/> removes the quota).</summary>
public sealed record UserChanges(string? Role = null, long? QuotaBytes = null, bool ClearQuota = false, bool? Disabled = null, string? DisplayName = null);

/// <summary>
/// User administration: list, create, change, reset passwords, delete; and a user's own password
/// change. Anything that changes a user's standing (role, disabled, password) also changes their
/// security stamp, so tokens issued before stop working at once, on REST and on open SXP sessions.
/// At least one enabled admin always remains.
/// </summary>
public sealed partial class UserAdminService(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    AccountService accounts,
    PasswordHasher hasher,
    UserRoots roots,
    UploadService uploads,
    TimeProvider time,
    ILogger<UserAdminService> logger)
{
    public const int MaxPageSize = 500;
    public const int MaxDisplayNameLength = 128;

    public async Task<Page<UserAccount>> ListAsync(int page, int pageSize, string? search, string? role, bool? disabled, CancellationToken cancellationToken)
    {
        if (page < 1)
        {
            throw new AccountException(AccountError.Invalid, "page starts at 1.", "page");
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            throw new AccountException(AccountError.Invalid, $"pageSize is between 1 and {MaxPageSize}.", "pageSize");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var query = db.Users.AsNoTracking();
        if (!string.IsNullOrEmpty(search))
        {
            // A plain substring match on username or display name; the pattern's own wildcards are escaped.
            var pattern = "%" + search.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
            // Case-insensitive on both providers: SQLite's LIKE folds ASCII case, PostgreSQL has ILIKE.
            query = db.Database.IsSqlite()
                ? query.Where(u => EF.Functions.Like(u.Username, pattern, "\\") || (u.DisplayName != null && EF.Functions.Like(u.DisplayName, pattern, "\\")))
                : query.Where(u => EF.Functions.ILike(u.Username, pattern, "\\") || (u.DisplayName != null && EF.Functions.ILike(u.DisplayName, pattern, "\\")));
        }

        if (!string.IsNullOrEmpty(role))
        {
            query = query.Where(u => u.Role == role);
        }

        if (disabled is { } state)
        {
            query = query.Where(u => u.Disabled == state);
        }

        var total = await query.CountAsync(cancellationToken).ConfigureAwait(false);
        var items = await query.OrderBy(u => u.Id).Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(cancellationToken).ConfigureAwait(false);
        return new Page<UserAccount>(items, total, page, pageSize);
    }

    public async Task<UserAccount> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(id);
    }

    public async Task<UserAccount> CreateAsync(string? username, string? password, string? role, long? quotaBytes, string? displayName, CancellationToken cancellationToken)
    {
        if (UsernameRules.Problem(username) is { } usernameProblem)
        {
            throw new AccountException(AccountError.Invalid, usernameProblem, "username");
        }

        if (PasswordRules.Problem(password) is { } passwordProblem)
        {
            throw new AccountException(AccountError.Invalid, passwordProblem, "password");
        }

        role ??= Roles.User;
        CheckRole(role);
        CheckQuota(quotaBytes);
        CheckDisplayName(displayName);
        try
        {
            var user = await accounts.CreateUserAsync(username!, password!, role, quotaBytes, displayName, cancellationToken).ConfigureAwait(false);
            LogCreated(logger, user.Id, user.Role);
            return user;
        }
        catch (DbUpdateException ex) when (DbErrors.IsUniqueViolation(ex))
        {
            throw new AccountException(AccountError.Conflict, $"The username '{username}' is taken.", "username");
        }
    }

    /// <summary>Applies <paramref name="changes"/>; with <paramref name="expectedVersion"/>, only if the user is still at that version.</summary>
    public async Task<UserAccount> UpdateAsync(long id, UserChanges changes, long? expectedVersion, CancellationToken cancellationToken)
    {
        if (changes.Role is not null)
        {
            CheckRole(changes.Role);
        }

        CheckQuota(changes.QuotaBytes);
        CheckDisplayName(changes.DisplayName);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        if (expectedVersion is { } expected && expected != user.Version)
        {
            throw new AccountException(AccountError.Stale, $"The user changed since version {expected}; it is now at version {user.Version}. Fetch it again.");
        }

        var wasActiveAdmin = user.Role == Roles.Admin && !user.Disabled;
        var standingChanged = false;
        if (changes.Role is { } role && role != user.Role)
        {
            user.Role = role;
            standingChanged = true;
        }

        if (changes.Disabled is { } disabled && disabled != user.Disabled)
        {
            user.Disabled = disabled;
            standingChanged = true;
        }

        if (changes.ClearQuota)
        {
            user.QuotaBytes = null;
        }
        else if (changes.QuotaBytes is { } quota)
        {
            user.QuotaBytes = quota;
        }

        if (changes.DisplayName is not null)
        {
            user.DisplayName = changes.DisplayName.Length == 0 ? null : changes.DisplayName;
        }

        if (wasActiveAdmin && (user.Role != Roles.Admin || user.Disabled))
        {
            await EnsureAnotherAdminAsync(db, id, cancellationToken).ConfigureAwait(false);
        }

        if (standingChanged)
        {
            user.SecurityStamp = AccountService.NewStamp();
        }

        user.Version++;
        user.UpdatedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        LogUpdated(logger, id, user.Version);
        return user;
    }

    /// <summary>Sets a new password chosen by an admin; the user's tokens stop working.</summary>
    public async Task ResetPasswordAsync(long id, string? password, CancellationToken cancellationToken)
    {
        if (PasswordRules.Problem(password) is { } problem)
        {
            throw new AccountException(AccountError.Invalid, problem, "password");
        }

        await SetPasswordAsync(id, password!, cancellationToken).ConfigureAwait(false);
        LogPasswordReset(logger, id);
    }

    /// <summary>A user's own change: the current password must be right. Every token issued before stops working.</summary>
    public async Task ChangeOwnPasswordAsync(long id, string? currentPassword, string? newPassword, CancellationToken cancellationToken)
    {
        if (PasswordRules.Problem(newPassword) is { } problem)
        {
            throw new AccountException(AccountError.Invalid, problem, "newPassword");
        }

        var user = await GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (!PasswordHasher.Verify(currentPassword ?? string.Empty, user.PasswordHash))
        {
            throw new AccountException(AccountError.WrongPassword, "The current password is not correct.", "currentPassword");
        }

        await SetPasswordAsync(id, newPassword!, cancellationToken).ConfigureAwait(false);
        LogPasswordChanged(logger, id);
    }

    /// <summary>
    /// Deletes a user and everything they own: their files and directories, their records, and their
    /// uploads in progress with the staged data. Their open connections close at the next account check.
    /// </summary>
    public async Task DeleteAsync(long id, CancellationToken cancellationToken)
    {
        List<string> sessions;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var user = await db.Users.SingleOrDefaultAsync(u => u.Id == id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
            if (user.Role == Roles.Admin && !user.Disabled)
            {
                await EnsureAnotherAdminAsync(db, id, cancellationToken).ConfigureAwait(false);
            }

            sessions = await db.UploadSessions.Where(u => u.OwnerId == id).Select(u => u.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
            db.Users.Remove(user);
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        // The rows are gone (files and uploads cascade); now the bytes.
        await uploads.ForgetUserAsync(id, sessions).ConfigureAwait(false);
        roots.DeleteRoot(id);

        LogDeleted(logger, id);
    }

    private async Task SetPasswordAsync(long id, string password, CancellationToken cancellationToken)
    {
        var hash = hasher.Hash(password);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        user.PasswordHash = hash;
        user.SecurityStamp = AccountService.NewStamp();
        user.Version++;
        user.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

        // A new password ends every credential issued under the old one, API keys included:
        // a key made with a stolen session must not outlive the password change that answers it.
        await db.ApiKeys.Where(k => k.UserId == id && k.RevokedAt == null)
            .ExecuteUpdateAsync(k => k.SetProperty(x => x.RevokedAt, now), cancellationToken).ConfigureAwait(false);
    }

    private static async Task EnsureAnotherAdminAsync(SecureXferDbContext db, long id, CancellationToken cancellationToken)
    {
        if (!await db.Users.AnyAsync(u => u.Id != id && u.Role == Roles.Admin && !u.Disabled, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(AccountError.Conflict, "This is the last enabled admin: make another admin first.");
        }
    }

    private static void CheckRole(string role)
    {
        if (!Roles.IsKnown(role))
        {
            throw new AccountException(AccountError.Invalid, $"role is one of '{Roles.Admin}', '{Roles.User}', '{Roles.Auditor}'.", "role");
        }
    }

    private static void CheckQuota(long? quotaBytes)
    {
        if (quotaBytes is < 0)
        {
            throw new AccountException(AccountError.Invalid, "quotaBytes is zero or more (null for no limit).", "quotaBytes");
        }
    }

    private static void CheckDisplayName(string? displayName)
    {
        if (displayName is { Length: > MaxDisplayNameLength } || (displayName is not null && displayName.Any(char.IsControl)))
        {
            throw new AccountException(AccountError.Invalid, $"displayName has at most {MaxDisplayNameLength} characters and no control characters.", "displayName");
        }
    }

    private static AccountException NotFound(long id) => new(AccountError.NotFound, $"No user with id {id}.");

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "User {UserId} created with role {Role}")]
    private static partial void LogCreated(ILogger logger, long userId, string role);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "User {UserId} updated to version {Version}")]
    private static partial void LogUpdated(ILogger logger, long userId, long version);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Password of user {UserId} reset by an admin")]
    private static partial void LogPasswordReset(ILogger logger, long userId);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "User {UserId} changed their password")]
    private static partial void LogPasswordChanged(ILogger logger, long userId);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "User {UserId} deleted with their files")]
    private static partial void LogDeleted(ILogger logger, long userId);
}
