using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json.Serialization.Metadata;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Tests.Support;

/// <summary>
/// A bare SXP peer that writes whatever frames a test wants, valid or not, and reads the
/// server's answers one frame at a time. For probing how the server treats bad input.
/// </summary>
internal sealed class RawSxp : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _ssl;

    private RawSxp(TcpClient tcp, SslStream ssl)
    {
        _tcp = tcp;
        _ssl = ssl;
    }

    public static async Task<RawSxp> ConnectAsync(ServerProcess server, bool alpn = true)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", server.SxpPort);
        var ssl = new SslStream(tcp.GetStream());
        var trust = server.Trust;
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = alpn ? [new SslApplicationProtocol(SxpLimits.Alpn)] : null,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) => trust.Validate(cert, chain, errors),
        });
        return new RawSxp(tcp, ssl);
    }

    /// <summary>Connects, says HELLO and authenticates with <paramref name="token"/>.</summary>
    public static async Task<RawSxp> ConnectAuthenticatedAsync(ServerProcess server, string token)
    {
        var raw = await ConnectAsync(server);
        await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(1, "raw"), SxpJsonContext.Default.HelloRequest);
        Assert.Equal(FrameType.HelloOk, (await raw.ReadAsync()).Header.Type);
        await raw.SendAsync(FrameType.Auth, 2, new AuthRequest(token), SxpJsonContext.Default.AuthRequest);
        Assert.Equal(FrameType.AuthOk, (await raw.ReadAsync()).Header.Type);
        return raw;
    }

    /// <summary>Connects, authenticates and opens an upload on stream 10 (replacing), returning the server's UPLOAD_READY.</summary>
    public static async Task<(RawSxp Raw, UploadReadyResponse Ready)> OpenUploadAsync(ServerProcess server, string token, string path, long size, int chunkSize)
    {
        var raw = await ConnectAuthenticatedAsync(server, token);
        await raw.SendAsync(FrameType.UploadOpen, 10, new UploadOpenRequest(path, size, chunkSize, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest);
        var (header, payload) = await raw.ReadAsync();
        Assert.Equal(FrameType.UploadReady, header.Type);
        return (raw, Decode(payload, SxpJsonContext.Default.UploadReadyResponse));
    }

    public Task SendAsync<T>(FrameType type, uint stream, T message, JsonTypeInfo<T> info)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteControl(buffer, type, stream, message, info);
        return SendBytesAsync(buffer.WrittenMemory);
    }

    public Task SendHeaderAsync(uint length, FrameType type, uint stream)
    {
        var header = new byte[SxpLimits.HeaderSize];
        new FrameHeader(length, type, FrameFlags.None, stream).Write(header);
        return SendBytesAsync(header);
    }

    public async Task SendBytesAsync(ReadOnlyMemory<byte> bytes)
    {
        await _ssl.WriteAsync(bytes);
        await _ssl.FlushAsync();
    }

    public async Task SendDataAsync(uint stream, long offset, ReadOnlyMemory<byte> data, uint? crc = null)
    {
        var prefix = new byte[SxpLimits.HeaderSize + SxpLimits.DataPrefixSize];
        FrameWriter.WriteDataPrefix(prefix, stream, offset, crc ?? Shared.Hashing.Crc32C.Compute(data.Span), data.Length);
        await _ssl.WriteAsync(prefix);
        await SendBytesAsync(data);
    }

    /// <summary>The next frame, or null when the server closed the connection. Fails the test after the timeout.</summary>
    public async Task<(FrameHeader Header, byte[] Payload)> ReadAsync(TimeSpan? timeout = null)
        => await TryReadAsync(timeout) ?? throw new IOException("The server closed the connection.");

    public async Task<(FrameHeader Header, byte[] Payload)?> TryReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var header = new byte[SxpLimits.HeaderSize];
        if (!await ReadExactlyAsync(header, cts.Token))
        {
            return null;
        }

        var parsed = FrameHeader.Read(header);
        var payload = new byte[parsed.Length];
        if (!await ReadExactlyAsync(payload, cts.Token))
        {
            return null;
        }

        return (parsed, payload);
    }

    public async Task<ErrorResponse> ReadErrorAsync()
    {
        var (header, payload) = await ReadAsync();
        Assert.Equal(FrameType.Error, header.Type);
        return PayloadReader.ReadControl(new ReadOnlySequence<byte>(payload), SxpJsonContext.Default.ErrorResponse);
    }

    public static T Decode<T>(byte[] payload, JsonTypeInfo<T> info) => PayloadReader.ReadControl(new ReadOnlySequence<byte>(payload), info);

    /// <summary>True when the server has closed the connection (no more frames arrive).</summary>
    public async Task<bool> IsClosedAsync()
    {
        try
        {
            return await TryReadAsync(TimeSpan.FromSeconds(10)) is null;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await _ssl.ReadAsync(buffer.AsMemory(read), cancellationToken);
            }
            catch (IOException)
            {
                return false;
            }

            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _ssl.DisposeAsync();
        _tcp.Dispose();
    }
}
