using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Protocol;

// Control payloads of SXP/1, carried as UTF-8 JSON. PROTOCOL.md beside this file is the
// normative description; these records are its code form.

public sealed record HelloRequest(int Version, string? Client);

public sealed record HelloResponse(int Version, string Server, int MaxPayload, int MaxChunkSize, int DefaultChunkSize);

public sealed record AuthRequest(string Token);

public sealed record AuthResponse(string User, string Role);

public sealed record PathRequest(string Path);

public sealed record RemoveRequest(string Path, bool Recursive);

public sealed record MoveRequest(string From, string To, bool Overwrite);

[JsonConverter(typeof(JsonStringEnumConverter<EntryType>))]
public enum EntryType
{
    File,
    Dir,
}

public sealed record RemoteEntry(
    string Name,
    EntryType Type,
    long Size,
    DateTimeOffset Modified,
    string? Sha256);

public sealed record ListResponse(IReadOnlyList<RemoteEntry> Entries);

/// <summary>What to do when the upload's target already exists.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OverwritePolicy>))]
public enum OverwritePolicy
{
    /// <summary>Replace the existing file atomically at commit.</summary>
    Replace,

    /// <summary>Refuse with <see cref="ErrorCode.Conflict"/>.</summary>
    Fail,
}

public sealed record UploadOpenRequest(
    string Path,
    long Size,
    int ChunkSize,
    OverwritePolicy Overwrite,
    string? Sha256);

/// <summary>
/// The server's answer to an open or attach: the upload id, the chunk layout, the chunks
/// it already holds (index and CRC32C, so the client can confirm they are its own bytes),
/// and the flow-control window in chunks per connection.
/// </summary>
public sealed record UploadReadyResponse(
    string UploadId,
    long Size,
    int ChunkSize,
    int Window,
    IReadOnlyList<int> HaveIndexes,
    IReadOnlyList<uint> HaveCrcs);

public sealed record UploadAttachRequest(string UploadId);

/// <summary>Commits an upload. <see cref="Modified"/>, when given, becomes the file's modification time (as <c>touch -d</c> would set it).</summary>
public sealed record UploadCommitRequest(string UploadId, string Sha256)
{
    public DateTimeOffset? Modified { get; init; }
}

public sealed record UploadAbortRequest(string UploadId);

/// <summary>The header of a PUT frame: a whole small file with its SHA-256, stored atomically in one request.</summary>
public sealed record PutRequest(string Path, long Size, string Sha256, OverwritePolicy Overwrite)
{
    /// <summary>The modification time the stored file gets; the time of storing when null.</summary>
    public DateTimeOffset? Modified { get; init; }
}

/// <summary>Sets the modification time of a file or directory, keeping its recorded SHA-256.</summary>
public sealed record SetModifiedRequest(string Path, DateTimeOffset Modified);

/// <summary>A byte range of a file. Length -1 means to the end; with <see cref="Clamp"/>, a range past the end is cut there instead of refused.</summary>
public sealed record DownloadOpenRequest(string Path, long Offset, long Length)
{
    public bool Clamp { get; init; }
}

public sealed record DownloadReadyResponse(long Size, string Sha256, DateTimeOffset Modified, long Offset, long Length);

public sealed record ErrorResponse(ErrorCode Code, string Message);

public sealed record OkResponse(RemoteEntry? Entry);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(HelloRequest))]
[JsonSerializable(typeof(HelloResponse))]
[JsonSerializable(typeof(AuthRequest))]
[JsonSerializable(typeof(AuthResponse))]
[JsonSerializable(typeof(PathRequest))]
[JsonSerializable(typeof(RemoveRequest))]
[JsonSerializable(typeof(MoveRequest))]
[JsonSerializable(typeof(SetModifiedRequest))]
[JsonSerializable(typeof(RemoteEntry))]
[JsonSerializable(typeof(ListResponse))]
[JsonSerializable(typeof(UploadOpenRequest))]
[JsonSerializable(typeof(UploadReadyResponse))]
[JsonSerializable(typeof(UploadAttachRequest))]
[JsonSerializable(typeof(UploadCommitRequest))]
[JsonSerializable(typeof(PutRequest))]
[JsonSerializable(typeof(UploadAbortRequest))]
[JsonSerializable(typeof(DownloadOpenRequest))]
[JsonSerializable(typeof(DownloadReadyResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(OkResponse))]
public sealed partial class SxpJsonContext : JsonSerializerContext;
