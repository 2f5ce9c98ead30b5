namespace SecureXfer.Shared.Rest;

/// <summary>A directory listing over REST; each item is the same entry SXP uses.</summary>
public sealed record FileListResponse(IReadOnlyList<SecureXfer.Shared.Protocol.RemoteEntry> Items);
