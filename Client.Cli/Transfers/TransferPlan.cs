namespace SecureXfer.Cli.Transfers;

/// <summary>One file to copy: where it is on this machine, where it is on the server, and its size if known.</summary>
internal sealed record TransferItem(string Local, string Remote, long Size);

/// <summary>Everything a put or get will do: directories to create first, then files in order.</summary>
internal sealed class TransferPlan
{
    public List<string> Directories { get; } = [];

    public List<TransferItem> Files { get; } = [];
}
