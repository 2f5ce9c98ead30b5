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

        var session = new SxpSession(connection, accounts, guard, files, uploads, metrics, audit, options.Value, logger);
        metrics.SessionOpened();
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            metrics.SessionClosed();
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed: it did not negotiate ALPN sxp/1")]
    private static partial void LogNoAlpn(ILogger logger, string connectionId);
}
