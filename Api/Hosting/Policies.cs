using System.Security.Claims;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;

namespace SecureXfer.Api.Hosting;

/// <summary>Authorization policies by role. The role comes from the account as it is now, not from the token.</summary>
internal static class Policies
{
    public const string Admin = "admin";
    public const string Reader = "reader";

    public static void Add(Microsoft.AspNetCore.Authorization.AuthorizationOptions options)
    {
        options.AddPolicy(Admin, policy => policy.RequireAuthenticatedUser().RequireRole(Roles.Admin));
        options.AddPolicy(Reader, policy => policy.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Auditor));
    }

    /// <summary>The user resolved for this request by the bearer handler.</summary>
    public static AuthenticatedUser ActingUser(this HttpContext http) =>
        http.Items[typeof(AuthenticatedUser)] as AuthenticatedUser
        ?? throw new InvalidOperationException("No authenticated user on this request.");

    /// <summary>Puts the account's current role on the principal, for the role policies.</summary>
    public static void AddRole(ClaimsIdentity identity, AuthenticatedUser user) =>
        identity.AddClaim(new Claim(identity.RoleClaimType, user.Role));
}
