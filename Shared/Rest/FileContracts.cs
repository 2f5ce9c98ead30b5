namespace SecureXfer.Shared.Rest;

/// <summary>A directory listing over REST; each item is the same entry SXP uses.</summary>
public sealed record FileListResponse(IReadOnlyList<SecureXfer.Shared.Protocol.RemoteEntry> Items);

/// <summary>An upload in progress: what has arrived so far (<c>active</c> while a client is attached).</summary>
public sealed record UploadResponse(
    string Id, long OwnerId, string Path, long Size, int ChunkSize, int ChunkCount, int ChunksReceived, long BytesReceived, bool Active, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record UploadListResponse(IReadOnlyList<UploadResponse> Items);
