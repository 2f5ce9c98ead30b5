using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Cli.Config;

/// <summary>
/// What <c>sxfer login</c> leaves behind for later commands: where the server is, who is
/// logged in with which token, and how its certificate is trusted. <see cref="CaFile"/> set
/// means "verify against this CA file"; otherwise <see cref="Fingerprint"/> is pinned.
/// </summary>
internal sealed record LoginState(
    string Server,
    string Host,
    int SxpPort,
    string User,
    string AccessToken,
    DateTimeOffset ExpiresAt,
    string Fingerprint,
    string? CaFile);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(LoginState))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
