using System.Net;
using System.Net.Sockets;

namespace SecureXfer.Tests.Support;

/// <summary>
/// A TCP forwarder on loopback in front of a real server port, for network faults: it passes
/// bytes through untouched until told to cut every open connection, as a dropped link would.
/// </summary>
public sealed class DroppingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;

    public DroppingProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections cut so far.</summary>
    public int Dropped { get; private set; }

    /// <summary>Bytes passed from client to server so far.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    private long _forwarded;

    /// <summary>Resets every connection open now; new ones are forwarded as before.</summary>
    public void DropAll()
    {
        lock (_open)
        {
            foreach (var client in _open)
            {
                if (client.Client is { Connected: true } socket)
                {
                    // A reset, not a polite close: what a broken link looks like to both ends.
                    socket.LingerState = new LingerOption(true, 0);
                    Dropped++;
                }

                client.Dispose();
            }

            _open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }

            lock (_open)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }

            _ = PumpAsync(inbound, outbound, count: true);
            _ = PumpAsync(outbound, inbound, count: false);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool count)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                if (count)
                {
                    Interlocked.Add(ref _forwarded, read);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The connection was cut, by the test or by either end.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropAll();
        await _accepting;
        _stop.Dispose();
    }
}
