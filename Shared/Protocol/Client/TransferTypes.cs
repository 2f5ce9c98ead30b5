namespace SecureXfer.Shared.Protocol.Client;

/// <summary>How a transfer is carried out.</summary>
public sealed record TransferOptions
{
    /// <summary>Connections used for one file (1 to 16).</summary>
    public int Parallel { get; init; } = 1;

    public int ChunkSize { get; init; } = SxpLimits.DefaultChunkSize;

    /// <summary>Bytes per second on the wire; 0 for no limit.</summary>
    public long RateLimit { get; init; }

    public OverwritePolicy Overwrite { get; init; } = OverwritePolicy.Replace;
}

/// <summary>What a finished transfer did. <see cref="ResumedFrom"/> bytes were already in place when it started.</summary>
public sealed record TransferResult(
    string Local,
    string Remote,
    long Bytes,
    long ResumedFrom,
    long BytesSent,
    string Sha256);
