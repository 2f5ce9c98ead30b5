namespace SecureXfer.Shared.Protocol;

/// <summary>A refusal with a typed code, raised on either side of an SXP connection.</summary>
public sealed class SxpException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;
}
