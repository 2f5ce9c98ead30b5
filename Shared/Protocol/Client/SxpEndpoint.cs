using SecureXfer.Shared.Security;

namespace SecureXfer.Shared.Protocol.Client;

/// <summary>Where an SXP server listens, and how its certificate is judged.</summary>
public sealed record SxpEndpoint(string Host, int Port, ServerTrust Trust);
