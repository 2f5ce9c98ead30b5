namespace SecureXfer.Shared.Security;

/// <summary>The server's certificate did not pass the client's trust decision (pin, CA file or system store).</summary>
public sealed class UntrustedServerException(string message, string? fingerprint) : Exception(message)
{
    /// <summary>The fingerprint of the certificate the server presented, when one was seen.</summary>
    public string? Fingerprint { get; } = fingerprint;
}
