namespace SecureXfer.Shared.Rest;

/// <summary>A user as the API shows it. Never carries a password hash or security stamp.</summary>
public sealed record UserResponse(
    long Id,
    string Username,
    string Role,
    long? QuotaBytes,
    bool Disabled,
    string? DisplayName,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A new user. <c>role</c> is <c>admin</c>, <c>user</c> (the default) or <c>auditor</c>; <c>quotaBytes</c> null means no limit.</summary>
public sealed record CreateUserRequest(string Username, string Password, string? Role, long? QuotaBytes, string? DisplayName);

/// <summary>
/// A partial update: only the fields present change. <c>quotaBytes: null</c> removes the quota;
/// an empty <c>displayName</c> clears it. Other fields (username, id, password) cannot be set here.
/// </summary>
public sealed record UpdateUserRequest(string? Role, long? QuotaBytes, bool? Disabled, string? DisplayName);

/// <summary>A new password set by an admin.</summary>
public sealed record ResetPasswordRequest(string Password);

/// <summary>A user's own password change; the current password confirms it.</summary>
public sealed record ChangePasswordRequest(string CurrentPassword, string NewPassword);

/// <summary>One page of a listing.</summary>
public sealed record PageResponse<T>(IReadOnlyList<T> Items, int Total, int Page, int PageSize);
