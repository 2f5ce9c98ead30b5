using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Persistence;

namespace SecureXfer.Server.Accounts;

/// <summary>
/// Brute-force defence for password logins. Failures are counted per account name (whether or
/// not it exists, so a ban tells nothing about which names are real) and per client address. Past a few failures each answer
/// is slowed a little more; past the threshold the account or address is banned for a while,
/// twice as long with each repeat (at most a day). Admins list and lift bans. The counts live in
/// the database, so every instance sees them.
/// </summary>
public sealed partial class LoginGuard(
    IDbContextFactory<SecureXferDbContext> dbFactory,
    IOptions<SecureXferOptions> options,
    TimeProvider time,
    ILogger<LoginGuard> logger)
{
    public const string Account = "account";
    public const string Address = "address";

    private static readonly TimeSpan MaxBan = TimeSpan.FromDays(1);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>When the account or the address is banned, until when; otherwise null.</summary>
    public async Task<DateTimeOffset?> BannedUntilAsync(string? username, string? address, CancellationToken cancellationToken)
    {
        var now = Now;
        var account = Key(username);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var until = await db.LoginBans.AsNoTracking()
            .Where(b => ((b.Kind == Account && b.Subject == account) || (b.Kind == Address && b.Subject == address)) && b.BannedUntil > now)
            .MaxAsync(b => b.BannedUntil, cancellationToken).ConfigureAwait(false);
        return until is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>Counts a failure; returns how long to hold the answer back (a growing delay before the ban).</summary>
    public async Task<TimeSpan> FailedAsync(string? username, string? address, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.Zero;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);

        // Counts whose window has passed, with no ban running, are of no further use.
        var now = Now;
        var stale = now - (long)options.Value.LoginFailureWindow.TotalMilliseconds;
        await db.LoginBans.Where(b => b.WindowStart < stale && (b.BannedUntil == null || b.BannedUntil < now) && b.BanCount == 0)
            .ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);

        if (Key(username) is { } account)
        {
            delay = Max(delay, await CountAsync(db, Account, account, options.Value.LoginFailuresPerAccount, cancellationToken).ConfigureAwait(false));
        }

        if (!string.IsNullOrEmpty(address))
        {
            delay = Max(delay, await CountAsync(db, Address, address, options.Value.LoginFailuresPerAddress, cancellationToken).ConfigureAwait(false));
        }

        return delay;
    }

    /// <summary>
    /// A credential that is not a password (an access token, a refresh token, an API key) was
    /// refused: counted against the address, so guessing through any door leads to the same ban,
    /// and the answer is held back like a failed login's.
    /// </summary>
    public async Task CredentialRefusedAsync(string? address, CancellationToken cancellationToken)
    {
        var delay = await FailedAsync(null, address, cancellationToken).ConfigureAwait(false);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The form of a client address the guard counts: IPv4-mapped IPv6 addresses as plain IPv4
    /// (so REST and SXP agree), and IPv6 addresses by their /64, the block one host is given,
    /// so walking through a subnet's addresses does not escape a ban.
    /// </summary>
    public static string? AddressOf(System.Net.IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new System.Net.IPAddress(bytes) + "/64";
    }

    /// <summary>
    /// The account key under which confirmations of a password change are counted: apart from
    /// the login's, so anyone's failed logins cannot stop the owner from changing the password.
    /// ('#' never occurs in a username.)
    /// </summary>
    public static string PasswordChangeKey(long userId) => "#password-change-" + userId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A good login clears the account's failures (not the address's: one known password must not excuse guessing others).</summary>
    public async Task SucceededAsync(string username, CancellationToken cancellationToken)
    {
        var account = Key(username);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.LoginBans.Where(b => b.Kind == Account && b.Subject == account && b.BannedUntil == null)
            .ExecuteUpdateAsync(b => b.SetProperty(x => x.Failures, 0), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<LoginBanRecord>> ActiveBansAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.LoginBans.AsNoTracking().Where(b => b.BannedUntil > now).OrderBy(b => b.BannedUntil).ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lifts a ban and forgets its failures and history. Returns false when there was none.</summary>
    public async Task<bool> LiftAsync(string kind, string subject, CancellationToken cancellationToken)
    {
        var key = kind == Account ? Key(subject) : subject;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var removed = await db.LoginBans.Where(b => b.Kind == kind && b.Subject == key).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        if (removed > 0)
        {
            LogLifted(logger, kind, key!);
        }

        return removed > 0;
    }

    /// <summary>
    /// Counts one failure atomically (an upsert, so concurrent failures are all counted) and,
    /// at the threshold, bans: the statement that sets the ban also resets the count, so each
    /// crossing bans once. Returns the delay to hold the answer back.
    /// </summary>
    private async Task<TimeSpan> CountAsync(SecureXferDbContext db, string kind, string subject, int threshold, CancellationToken cancellationToken)
    {
        var now = Now;
        var window = (long)options.Value.LoginFailureWindow.TotalMilliseconds;
        var failures = (await db.Database.SqlQuery<int>($"""
            INSERT INTO login_bans (kind, subject, failures, window_start, banned_until, ban_count) VALUES ({kind}, {subject}, 1, {now}, NULL, 0)
            ON CONFLICT (kind, subject) DO UPDATE SET
                failures = CASE WHEN {now} - login_bans.window_start > {window} THEN 1 ELSE login_bans.failures + 1 END,
                window_start = CASE WHEN {now} - login_bans.window_start > {window} THEN {now} ELSE login_bans.window_start END
            RETURNING failures AS "Value"
            """).ToListAsync(cancellationToken).ConfigureAwait(false)).Single();

        threshold = Math.Max(1, threshold);
        if (failures >= threshold)
        {
            var baseMs = (long)options.Value.LoginBanBase.TotalMilliseconds;
            var maxMs = (long)MaxBan.TotalMilliseconds;
            var until = (await db.Database.SqlQuery<long>($"""
                UPDATE login_bans SET
                    banned_until = {now} + CASE WHEN ban_count >= 20 OR {baseMs} * (1 << ban_count) > {maxMs} THEN {maxMs} ELSE {baseMs} * (1 << ban_count) END,
                    ban_count = ban_count + 1,
                    failures = 0,
                    window_start = {now}
                WHERE kind = {kind} AND subject = {subject} AND failures >= {threshold}
                RETURNING banned_until AS "Value"
                """).ToListAsync(cancellationToken).ConfigureAwait(false)).SingleOrDefault();
            if (until > 0)
            {
                LogBanned(logger, kind, subject, (until - now) / 1000.0);
            }

            return TimeSpan.Zero;
        }

        // Closer to the threshold, slower answers: 0.25 s per failure past half, at most 2 s.
        return failures > threshold / 2
            ? TimeSpan.FromMilliseconds(Math.Min(2000, 250 * (failures - (threshold / 2))))
            : TimeSpan.Zero;
    }

    private static string? Key(string? username) =>
        string.IsNullOrEmpty(username) ? null : new string(username.Take(64).Select(c => char.IsControl(c) ? '?' : c).ToArray()).ToLowerInvariant();

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Login ban on {Kind} {Subject} for {Seconds} s after repeated failures")]
    private static partial void LogBanned(ILogger logger, string kind, string subject, double seconds);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Login ban on {Kind} {Subject} lifted by an admin")]
    private static partial void LogLifted(ILogger logger, string kind, string subject);
}
