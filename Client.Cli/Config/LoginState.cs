using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Cli.Config;

/// <summary>
/// What <c>sxfer login</c> leaves behind for later commands: where the server is, who is
/// logged in with which token, and how its certificate is trusted. <see cref="CaFile"/> set
/// means "verify against this CA file"; otherwise <see cref="Fingerprint"/> is pinned. The
/// refresh token (single use; each renewal brings a new one) renews the access token unattended.
/// </summary>
internal sealed record LoginState(
    string Server,
    string Host,
    int SxpPort,
    string User,
    string AccessToken,
    DateTimeOffset ExpiresAt,
    string Fingerprint,
    string? CaFile,
    string? RefreshToken = null,
    DateTimeOffset? RefreshExpiresAt = null)
{
    /// <summary>The refresh token, while it is still good for a renewal.</summary>
    public string? UsableRefreshToken => RefreshToken is not null && RefreshExpiresAt > DateTimeOffset.UtcNow ? RefreshToken : null;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(LoginState))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
