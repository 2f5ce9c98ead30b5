using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Rest;

/// <summary>
/// A named connection to another server. <c>kind</c> is <c>ftp</c>, <c>ftps</c> (explicit TLS),
/// <c>ftps-implicit</c> or <c>sftp</c>. Secrets are never shown: only whether one is set.
/// </summary>
public sealed record RemoteResponse(
    string Id,
    long OwnerId,
    string Name,
    string Kind,
    string Host,
    int Port,
    string User,
    bool HasPassword,
    bool HasPrivateKey,
    string? HostKey,
    string? TlsFingerprint,
    string? TlsName,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>
/// A new remote, or (for PATCH) the fields to change. <c>password</c> and <c>privateKey</c>
/// (OpenSSH PEM text) are write-only and stored encrypted; an empty string clears one.
/// <c>hostKey</c> pins an SFTP server's key (SHA256:... as ssh-keygen -lf prints it);
/// <c>tlsFingerprint</c> pins an FTPS certificate; <c>tlsName</c> is the FTPS server's TLS name.
/// </summary>
public sealed record RemoteRequest(
    string? Name,
    string? Kind,
    string? Host,
    int? Port,
    string? User,
    string? Password,
    string? PrivateKey,
    string? HostKey,
    string? TlsFingerprint,
    string? TlsName);

/// <summary>What a test connection found: whether it logged in and listed the login directory, and the server's key or certificate fingerprint for pinning.</summary>
public sealed record RemoteTestResponse(bool Ok, string? Fingerprint, bool Trusted, string Message);

public sealed record RemoteListResponse(IReadOnlyList<RemoteResponse> Items);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RemoteResponse))]
[JsonSerializable(typeof(RemoteRequest))]
[JsonSerializable(typeof(RemoteTestResponse))]
[JsonSerializable(typeof(RemoteListResponse))]
public sealed partial class RemoteJsonContext : JsonSerializerContext;
