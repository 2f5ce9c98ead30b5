using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace SecureXfer.Benchmarks;

/// <summary>
/// The transport ceiling: bytes pushed from one SslStream to another over loopback with the
/// server's own certificate, no protocol, no disk, no hashing. Returns MB/s.
/// </summary>
internal static class TlsPump
{
    public static async Task<double> MeasureAsync(string certificatePath, string keyPath, long bytes)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var receiver = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var ssl = new SslStream(socket.GetStream());
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            });
            var buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = await ssl.ReadAsync(buffer)) > 0)
            {
                total += n;
            }

            return total;
        });

        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var sender = new SslStream(client.GetStream());
        await sender.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        var block = new byte[1 << 20];
        Random.Shared.NextBytes(block);
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < bytes; sent += block.Length)
        {
            await sender.WriteAsync(block);
        }

        await sender.ShutdownAsync();
        client.Client.Shutdown(SocketShutdown.Send);
        var received = await receiver;
        clock.Stop();
        return received / clock.Elapsed.TotalSeconds / 1e6;
    }
}
