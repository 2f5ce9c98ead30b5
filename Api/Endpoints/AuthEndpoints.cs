using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary>Login, refresh and logout (<c>/api/v1/auth</c>), and the caller's API keys (<c>/api/v1/keys</c>).</summary>
internal static class AuthEndpoints
{
    public static void MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        var auth = routes.MapGroup("/api/v1/auth").WithTags("Auth");
        auth.MapPost("/login", LoginAsync)
            .WithName("Login")
            .WithSummary("Exchange a username and password for a short-lived access token and a refresh token.")
            .WithDescription("Unknown user, wrong password and disabled account get the same 401. Rate limited per address (429 with Retry-After).")
            .RequireRateLimiting(SecureXferHostExtensions.LoginRateLimit)
            .AllowAnonymous();

        auth.MapPost("/refresh", RefreshAsync)
            .WithName("Refresh")
            .WithSummary("Trade a refresh token for a new access token and a new refresh token (the old one is used up).")
            .WithDescription("A refresh token works once. Presenting one that was already used revokes its whole family (it was copied); expired, revoked, or issued before a password change or disable: 401.")
            .RequireRateLimiting(SecureXferHostExtensions.LoginRateLimit)
            .AllowAnonymous();

        auth.MapPost("/logout", LogoutAsync)
            .WithName("Logout")
            .WithSummary("End the access token used for this call now, and with `refreshToken` that token's family.")
            .RequireAuthorization();

        var bans = routes.MapGroup("/api/v1/bans").WithTags("Bans").RequireAuthorization(Policies.Admin);
        bans.MapGet("/", ListBansAsync)
            .WithName("ListBans")
            .WithSummary("Accounts and client addresses banned from logging in after repeated failures, and until when. Admins only.");
        bans.MapDelete("/{kind}/{subject}", LiftBanAsync)
            .WithName("LiftBan")
            .WithSummary("Lift a ban (`kind` is `account` or `address`) and forget its failures. Admins only.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        var keys = routes.MapGroup("/api/v1/keys").WithTags("API keys").RequireAuthorization();
        keys.MapGet("/", ListKeysAsync)
            .WithName("ListKeys")
            .WithSummary("Your API keys (never their secrets).");
        keys.MapPost("/", CreateKeyAsync)
            .WithName("CreateKey")
            .WithSummary("Create an API key for automation; the `key` in the answer is shown this once.")
            .WithDescription("Use it as `Authorization: Bearer sxk_...` on REST and as the SXP token. It acts as you, with your role, until revoked, expired, or your password changes. "
                + "Only a password login may create keys (403 for a call made with a key). "
                + "With `Idempotency-Key`, a repeated request answers with the same key id but `key: null`: the secret is shown only once.")
            .ProducesValidationProblem()
            .AddEndpointFilter(new IdempotencyFilter("key"));
        keys.MapDelete("/{id}", RevokeKeyAsync)
            .WithName("RevokeKey")
            .WithSummary("Revoke one of your API keys; it stops working at once (open SXP sessions end at their next account check).")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> LoginAsync(
        LoginRequest request, HttpContext http, AccountService accounts, CredentialService credentials, LoginGuard guard, CancellationToken cancellationToken)
    {
        var address = LoginGuard.AddressOf(http.Connection.RemoteIpAddress);
        if (await guard.BannedUntilAsync(request.Username, address, cancellationToken) is { } until)
        {
            http.AuditAnonymous("auth.login", await accounts.ExistsAsync(request.Username, cancellationToken) ? request.Username : "(no such account)", "banned");
            return Banned(http, until);
        }

        var user = await accounts.LoginAsync(request.Username, request.Password, cancellationToken);

        // The name tried is recorded only when it is an account's: a password typed into the
        // username field must not end up in the append-only log.
        var known = user is not null || await accounts.ExistsAsync(request.Username, cancellationToken);
        http.AuditAnonymous("auth.login", user?.Username ?? (known ? request.Username : "(no such account)"), user is null ? "failed" : "ok");
        if (user is null)
        {
            var delay = await guard.FailedAsync(request.Username, address, cancellationToken);
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken);
            }

            return TypedResults.Problem(title: "Login failed", detail: "Invalid username or password.", statusCode: StatusCodes.Status401Unauthorized);
        }

        await guard.SucceededAsync(user.Username, cancellationToken);

        return TypedResults.Ok(ToResponse(await credentials.IssueAsync(user, cancellationToken)));
    }

    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> RefreshAsync(RefreshRequest request, HttpContext http, CredentialService credentials, LoginGuard guard, CancellationToken cancellationToken)
    {
        var address = LoginGuard.AddressOf(http.Connection.RemoteIpAddress);
        if (await guard.BannedUntilAsync(null, address, cancellationToken) is { } until)
        {
            http.AuditAnonymous("auth.refresh", null, "banned");
            return Banned(http, until);
        }

        var (issued, forged) = await credentials.RefreshAsync(request.RefreshToken, cancellationToken);
        http.AuditAnonymous("auth.refresh", null, issued is null ? "failed" : "ok");
        if (issued is null)
        {
            if (forged)
            {
                await guard.CredentialRefusedAsync(address, cancellationToken);
            }

            return TypedResults.Problem(title: "Refresh failed", detail: "The refresh token is not valid; log in again.", statusCode: StatusCodes.Status401Unauthorized);
        }

        return TypedResults.Ok(ToResponse(issued));
    }

    /// <summary>The answer while an account or address is banned for failed logins: 429 with Retry-After.</summary>
    internal static ProblemHttpResult Banned(HttpContext http, DateTimeOffset until)
    {
        var wait = Math.Max(1, (int)Math.Ceiling((until - DateTimeOffset.UtcNow).TotalSeconds));
        http.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(title: "Too many failed logins", detail: $"Too many failed logins for this account or from this address; try again in {wait} s.", statusCode: StatusCodes.Status429TooManyRequests);
    }

    private static async Task<NoContent> LogoutAsync(HttpContext http, CredentialService credentials, CancellationToken cancellationToken, LogoutRequest? request = null)
    {
        var principal = http.User;
        var jti = principal.FindFirst(JwtRegisteredClaimNames.Jti)?.Value;
        var exp = principal.FindFirst(JwtRegisteredClaimNames.Exp)?.Value;
        DateTimeOffset? expires = long.TryParse(exp, out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
        await credentials.LogoutAsync(http.ActingUser().Id, jti, expires, request?.RefreshToken, cancellationToken);
        http.Audit("auth.logout");
        return TypedResults.NoContent();
    }

    private static async Task<Ok<KeyListResponse>> ListKeysAsync(HttpContext http, CredentialService credentials, CancellationToken cancellationToken)
    {
        var keys = await credentials.ListKeysAsync(http.ActingUser().Id, cancellationToken);
        return TypedResults.Ok(new KeyListResponse(keys.Select(ToResponse).ToList()));
    }

    private static async Task<Results<Created<CreatedKeyResponse>, ProblemHttpResult>> CreateKeyAsync(CreateKeyRequest request, HttpContext http, CredentialService credentials, CancellationToken cancellationToken)
    {
        if (http.User.FindFirst(AccountService.ApiKeyClaim) is not null)
        {
            // Keys come from a password login only: one key must not mint others that outlive it.
            return TypedResults.Problem(title: "Forbidden", detail: "API keys cannot create API keys; log in with a password.", statusCode: StatusCodes.Status403Forbidden);
        }

        var (key, secret) = await credentials.CreateKeyAsync(http.ActingUser().Id, request.Name, request.ExpiresAt, cancellationToken);
        http.Audit("key.create", key.Id, detail: key.Name);
        return TypedResults.Created($"/api/v1/keys/{key.Id}", new CreatedKeyResponse(key.Id, key.Name, secret, FromMillis(key.CreatedAt), key.ExpiresAt is { } e ? FromMillis(e) : null));
    }

    private static async Task<NoContent> RevokeKeyAsync(string id, HttpContext http, CredentialService credentials, CancellationToken cancellationToken)
    {
        await credentials.RevokeKeyAsync(http.ActingUser().Id, id, cancellationToken);
        http.Audit("key.revoke", id);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<BanListResponse>> ListBansAsync(LoginGuard guard, CancellationToken cancellationToken)
    {
        var bans = await guard.ActiveBansAsync(cancellationToken);
        return TypedResults.Ok(new BanListResponse(bans.Select(b => new BanResponse(b.Kind, b.Subject, FromMillis(b.BannedUntil ?? 0), b.BanCount)).ToList()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> LiftBanAsync(string kind, string subject, HttpContext http, LoginGuard guard, CancellationToken cancellationToken)
    {
        if (kind is not (LoginGuard.Account or LoginGuard.Address) || !await guard.LiftAsync(kind, subject, cancellationToken))
        {
            return TypedResults.Problem(title: "Not found", detail: $"No ban on {kind} '{subject}'.", statusCode: StatusCodes.Status404NotFound);
        }

        http.Audit("ban.lift", $"{kind} {subject}");
        return TypedResults.NoContent();
    }

    private static LoginResponse ToResponse(IssuedTokens issued) => new(issued.AccessToken, issued.ExpiresAt, issued.RefreshToken, issued.RefreshExpiresAt);

    private static KeyResponse ToResponse(ApiKeyRecord key) => new(
        key.Id,
        key.Name,
        FromMillis(key.CreatedAt),
        key.ExpiresAt is { } expires ? FromMillis(expires) : null,
        key.LastUsedAt is { } used ? FromMillis(used) : null,
        key.RevokedAt is not null);

    private static DateTimeOffset FromMillis(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}
