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

/// <summary>Audit records for REST actions: the acting user and the client address come from the request.</summary>
internal static class RequestAudit
{
    public static void Audit(this HttpContext http, string action, string? target = null, string outcome = "ok", string? detail = null)
    {
        var log = http.RequestServices.GetRequiredService<SecureXfer.Server.Audit.AuditLog>();
        var user = http.Items[typeof(AuthenticatedUser)] as AuthenticatedUser;
        log.Record(new SecureXfer.Server.Audit.AuditEvent(action, outcome, user?.Id, user?.Username, target, http.Connection.RemoteIpAddress?.ToString(), detail));
    }

    /// <summary>For events before anyone is authenticated (a login attempt): the name tried, cut short and cleaned.</summary>
    public static void AuditAnonymous(this HttpContext http, string action, string? attemptedName, string outcome, string? detail = null)
    {
        var log = http.RequestServices.GetRequiredService<SecureXfer.Server.Audit.AuditLog>();
        var name = attemptedName is null ? null : new string(attemptedName.Take(64).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        log.Record(new SecureXfer.Server.Audit.AuditEvent(action, outcome, null, name, null, http.Connection.RemoteIpAddress?.ToString(), detail));
    }
}
