using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Cli.Output;

// The objects printed by --json. Property names are part of the CLI contract.

/// <summary>One file moved; <c>sha256</c> is null where the other side holds no hash (FTP, SFTP).</summary>
internal sealed record TransferFileJson(string Local, string Remote, long Bytes, long ResumedFrom, string? Sha256);

internal sealed record TransferJson(IReadOnlyList<TransferFileJson> Files, long Bytes, double Seconds);

internal sealed record EntryJson(string Name, string Type, long Size, DateTimeOffset Modified, string? Sha256);

internal sealed record ListJson(IReadOnlyList<EntryJson> Entries);

internal sealed record LoginJson(string Server, string User, DateTimeOffset ExpiresAt, string Fingerprint);

internal sealed record PathOkJson(bool Ok, string Path);

internal sealed record MoveOkJson(bool Ok, string From, string To);

internal sealed record LogoutJson(bool Ok, bool WasLoggedIn);

internal sealed record SyncErrorJson(string Path, string Message);

internal sealed record SyncPlanJson(string Action, string Path, string Type, long Size);

/// <summary>One sync run; <c>plan</c> only in a dry run.</summary>
internal sealed record SyncRunJson(
    int Copied,
    int Updated,
    int Deleted,
    int Unchanged,
    long Bytes,
    long Resumed,
    IReadOnlyList<SyncErrorJson> Errors,
    bool DryRun,
    string Source,
    string Destination,
    DateTimeOffset StartedAt,
    double Seconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SyncPlanJson>? Plan);

internal sealed record ErrorBodyJson(
    string Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Fingerprint);

internal sealed record ErrorJson(ErrorBodyJson Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TransferJson))]
[JsonSerializable(typeof(EntryJson))]
[JsonSerializable(typeof(ListJson))]
[JsonSerializable(typeof(LoginJson))]
[JsonSerializable(typeof(PathOkJson))]
[JsonSerializable(typeof(MoveOkJson))]
[JsonSerializable(typeof(LogoutJson))]
[JsonSerializable(typeof(ErrorJson))]
[JsonSerializable(typeof(SyncRunJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

internal static class CliJson
{
    /// <summary>Stdout is not HTML: apostrophes and non-ASCII names are written as they are.</summary>
    public static CliJsonContext Context { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
