using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Fuzz;

/// <summary>
/// The real server on loopback, fed mutated frame streams over real TLS connections: before
/// HELLO, after HELLO, and after a good AUTH. Every few cases a well-behaved client must still
/// be served, and at the end the server's log must hold no error: every bad input has to end in
/// a typed refusal or a closed connection, never in an unexpected exception.
/// </summary>
public static class ServerTarget
{
    private const int LivenessEvery = 25;

    public static FuzzReport Run(ServerProcess server, string token, int seed, TimeSpan duration)
    {
        var seeds = Corpus.ClientFrames(token);
        var hello = seeds[0];
        var auth = seeds[1];
        var cases = 0;
        var report = FuzzRun.Run("server", seed, duration,
            m =>
            {
                // The first byte picks the preamble: none, HELLO, or HELLO and AUTH.
                var body = Corpus.Generate(m, seeds);
                return [(byte)m.Random.Next(3), .. body];
            },
            input =>
            {
                byte[] preamble = input[0] switch { 0 => [], 1 => hello, _ => [.. hello, .. auth] };
                SendCaseAsync(server, [.. preamble, .. input.AsSpan(1)]).GetAwaiter().GetResult();
                if (++cases % LivenessEvery == 0)
                {
                    CheckAliveAsync(server, token).GetAwaiter().GetResult();
                }
            });

        var findings = report.Findings.ToList();
        try
        {
            CheckAliveAsync(server, token).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            findings.Add("The server stopped serving: " + ex.Message);
        }

        findings.AddRange(server.Output.Split('\n')
            .Select((line, i) => (line, i))
            .Where(p => p.line.StartsWith("fail:", StringComparison.Ordinal) || p.line.StartsWith("crit:", StringComparison.Ordinal))
            .Take(10)
            .Select(p => "server log: " + string.Join(" | ", server.Output.Split('\n').Skip(p.i).Take(4))));
        return report with { Findings = findings };
    }

    private static async Task SendCaseAsync(ServerProcess server, byte[] bytes)
    {
        using var tcp = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await tcp.ConnectAsync("127.0.0.1", server.SxpPort, timeout.Token).ConfigureAwait(false);
        await using var ssl = new SslStream(tcp.GetStream());
        var trust = server.Trust;
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [new SslApplicationProtocol(SxpLimits.Alpn)],
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) => trust.Validate(cert, chain, errors),
        }, timeout.Token).ConfigureAwait(false);

        try
        {
            await ssl.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
            await ssl.FlushAsync(timeout.Token).ConfigureAwait(false);

            // Read whatever comes back until the server closes or falls quiet.
            var sink = new byte[64 * 1024];
            while (true)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                quiet.CancelAfter(TimeSpan.FromMilliseconds(250));
                if (await ssl.ReadAsync(sink, quiet.Token).ConfigureAwait(false) == 0)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // The server closing on us, or going quiet, is a fine answer to garbage.
        }
    }

    private static async Task CheckAliveAsync(ServerProcess server, string token)
    {
        await using var client = new SxpClient(server.Endpoint, token);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.StatAsync("/", timeout.Token).ConfigureAwait(false);
    }
}
