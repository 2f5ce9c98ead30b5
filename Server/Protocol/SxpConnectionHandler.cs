using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Observability;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Protocol;

/// <summary>
/// Kestrel's entry point for SXP connections. TLS is already done by the endpoint's
/// <c>UseHttps</c>; this refuses anything that did not negotiate ALPN <c>sxp/1</c>, then
/// runs one <see cref="SxpSession"/> for the connection's life. The handler is shared by
/// every connection, so it holds no per-connection state.
/// </summary>
public sealed partial class SxpConnectionHandler(
    AccountService accounts,
    LoginGuard guard,
    FileService files,
    UploadService uploads,
    ServerMetrics metrics,
    Audit.AuditLog audit,
    SessionLimits limits,
    IOptions<SecureXferOptions> options,
    ILogger<SxpConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var alpn = connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol;
        if (alpn is null || !alpn.Value.Span.SequenceEqual("sxp/1"u8))
        {
            LogNoAlpn(logger, connection.ConnectionId);
            connection.Abort();
            return;
        }

        using var addressSlot = limits.TryEnterAddress(LoginGuard.AddressOf((connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address));
        if (addressSlot is null)
        {
            LogTooManyFromAddress(logger, connection.ConnectionId);
            // Returning closes the connection gracefully, after the answer has gone out (an abort could drop it).
            FrameWriter.WriteError(connection.Transport.Output, 0, ErrorCode.Busy, "Too many connections from this address; close some and try again.");
            await connection.Transport.Output.FlushAsync().ConfigureAwait(false);
            return;
        }

        var session = new SxpSession(connection, accounts, guard, limits, files, uploads, metrics, audit, options.Value, logger);
        metrics.SessionOpened();
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            session.Dispose();
            metrics.SessionClosed();
        }
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Connection {ConnectionId} refused: its address has as many SXP connections as it may")]
    private static partial void LogTooManyFromAddress(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed: it did not negotiate ALPN sxp/1")]
    private static partial void LogNoAlpn(ILogger logger, string connectionId);
}
