using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Rest;

public sealed record LoginRequest(string Username, string Password);

/// <summary>An access token, and the refresh token that renews it (single use: each refresh returns a new one).</summary>
public sealed record LoginResponse(string AccessToken, DateTimeOffset ExpiresAt, string? RefreshToken = null, DateTimeOffset? RefreshExpiresAt = null);

public sealed record RefreshRequest(string RefreshToken);

/// <summary>Logout ends the access token used for it; with <c>refreshToken</c>, that token's family too.</summary>
public sealed record LogoutRequest(string? RefreshToken);

/// <summary>A new API key; <c>expiresAt</c> null means it does not expire.</summary>
public sealed record CreateKeyRequest(string Name, DateTimeOffset? ExpiresAt);

/// <summary>An API key as listed: never its secret.</summary>
public sealed record KeyResponse(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, bool Revoked);

/// <summary>A created key: <c>key</c> is the secret, shown this once.</summary>
public sealed record CreatedKeyResponse(string Id, string Name, string Key, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

public sealed record KeyListResponse(IReadOnlyList<KeyResponse> Items);

/// <summary>A login ban: <c>kind</c> is <c>account</c> or <c>address</c>; <c>banCount</c> is how many bans so far (each twice as long).</summary>
public sealed record BanResponse(string Kind, string Subject, DateTimeOffset BannedUntil, int BanCount);

public sealed record BanListResponse(IReadOnlyList<BanResponse> Items);

/// <summary>One audit record: when, who (id and name), what, to what, from where, with what outcome; and its place in the hash chain.</summary>
public sealed record AuditEntryResponse(long Seq, DateTimeOffset At, long? ActorId, string? Actor, string Action, string? Target, string? Source, string Outcome, string? Detail, string Hash);

/// <summary>The chain check: <c>ok</c>, the records read, and the first record that does not fit.</summary>
public sealed record AuditVerifyResponse(bool Ok, long Records, long? BrokenAt, string? Reason);

/// <summary>What a client needs to know before it can talk SXP: the version and where the SXP listener is.</summary>
public sealed record ServerInfo(string Version, int SxpPort, int ProtocolVersion);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(ServerInfo))]
[JsonSerializable(typeof(RefreshRequest))]
[JsonSerializable(typeof(LogoutRequest))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(KeyResponse))]
[JsonSerializable(typeof(CreatedKeyResponse))]
[JsonSerializable(typeof(KeyListResponse))]
[JsonSerializable(typeof(BanListResponse))]
[JsonSerializable(typeof(PageResponse<AuditEntryResponse>))]
[JsonSerializable(typeof(AuditVerifyResponse))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(UpdateUserRequest))]
[JsonSerializable(typeof(ResetPasswordRequest))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(PageResponse<UserResponse>))]
[JsonSerializable(typeof(FileListResponse))]
public sealed partial class RestJsonContext : JsonSerializerContext;
