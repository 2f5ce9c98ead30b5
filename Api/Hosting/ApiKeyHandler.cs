using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Accounts;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// REST authentication with an API key (<c>Authorization: Bearer sxk_...</c>), through the same
/// account checks as SXP: the key must exist, match, be live, and belong to an enabled user.
/// </summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccountService accounts, LoginGuard guard)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>The scheme that picks JWT or API key by the shape of the bearer credential.</summary>
    public const string Selector = "BearerOrKey";

    public static bool CarriesKey(HttpContext http) =>
        http.Request.Headers.Authorization.ToString().StartsWith("Bearer " + Secrets.ApiKeyPrefix, StringComparison.Ordinal);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!CarriesKey(Context))
        {
            return AuthenticateResult.NoResult();
        }

        var address = LoginGuard.AddressOf(Context.Connection.RemoteIpAddress);
        if (await guard.BannedUntilAsync(null, address, Context.RequestAborted) is not null)
        {
            return AuthenticateResult.Fail("Too many failed logins from this address.");
        }

        var key = Context.Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim();
        var (identity, forged) = await accounts.ValidateTokenAsync(key);
        var user = identity is null ? null : await accounts.ResolveAsync(identity, Context.RequestAborted);
        if (identity is null || user is null)
        {
            if (forged)
            {
                // A revoked or expired key (a forgotten cron job) is no guess; a made-up one is.
                await guard.CredentialRefusedAsync(address, Context.RequestAborted);
            }

            return AuthenticateResult.Fail("The API key is not valid.");
        }

        Context.Items[typeof(AuthenticatedUser)] = user;
        Policies.AddRole(identity, user);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
