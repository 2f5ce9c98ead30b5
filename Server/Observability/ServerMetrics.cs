using System.Diagnostics.Metrics;

namespace SecureXfer.Server.Observability;

/// <summary>
/// The server's own instruments (meter <c>SecureXfer</c>): transfers, bytes, sessions, logins.
/// Exported at <c>/metrics</c> together with ASP.NET Core's request durations.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "SecureXfer";

    private readonly Meter _meter;
    private readonly Counter<long> _transfers;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _logins;
    private readonly UpDownCounter<long> _sessions;

    public ServerMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _transfers = _meter.CreateCounter<long>("securexfer.transfers", "{transfer}", "Files committed or sent, by direction and result.");
        _bytes = _meter.CreateCounter<long>("securexfer.transfer.bytes", "By", "File bytes received and sent.");
        _logins = _meter.CreateCounter<long>("securexfer.logins", "{login}", "Login attempts, by result.");
        _sessions = _meter.CreateUpDownCounter<long>("securexfer.sxp.sessions", "{session}", "Open SXP connections.");
    }

    public void Transfer(string direction, bool ok) =>
        _transfers.Add(1, new KeyValuePair<string, object?>("direction", direction), new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));

    public void Bytes(string direction, long count) => _bytes.Add(count, new KeyValuePair<string, object?>("direction", direction));

    public void Login(bool ok) => _logins.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));

    public void SessionOpened() => _sessions.Add(1);

    public void SessionClosed() => _sessions.Add(-1);

    public void Dispose() => _meter.Dispose();
}
