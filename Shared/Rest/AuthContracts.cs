using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Rest;

public sealed record LoginRequest(string Username, string Password);

public sealed record LoginResponse(string AccessToken, DateTimeOffset ExpiresAt);

/// <summary>What a client needs to know before it can talk SXP: the version and where the SXP listener is.</summary>
public sealed record ServerInfo(string Version, int SxpPort, int ProtocolVersion);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(ServerInfo))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(UpdateUserRequest))]
[JsonSerializable(typeof(ResetPasswordRequest))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(PageResponse<UserResponse>))]
public sealed partial class RestJsonContext : JsonSerializerContext;
