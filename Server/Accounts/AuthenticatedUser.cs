namespace SecureXfer.Server.Accounts;

/// <summary>Who is acting, as established by a verified token.</summary>
public sealed record AuthenticatedUser(long Id, string Username, string Role, long? QuotaBytes);
