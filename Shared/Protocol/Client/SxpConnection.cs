using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using SecureXfer.Shared.Security;

namespace SecureXfer.Shared.Protocol.Client;

/// <summary>
/// One authenticated SXP connection. A single read loop parses frames and hands each to the
/// channel of its stream; writes are serialised by a lock, so several operations may share
/// the connection. Channels are bounded, so a slow consumer slows the socket, not memory.
/// </summary>
public sealed class SxpConnection : IAsyncDisposable
{
    private const int StreamCapacity = 8;

    private readonly TcpClient _tcp;
    private readonly SslStream _ssl;
    private readonly PipeReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, Channel<InboundFrame>> _streams = new();
    private readonly CancellationTokenSource _closing = new();
    private Task _readLoop = Task.CompletedTask;
    private Exception? _fault;
    private int _nextStreamId;

    private SxpConnection(TcpClient tcp, SslStream ssl)
    {
        _tcp = tcp;
        _ssl = ssl;
        _reader = PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 256 * 1024, minimumReadSize: 64 * 1024, leaveOpen: true));
    }

    /// <summary>How long connecting, the TLS handshake and authentication may take together.</summary>
    public static TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>True once the connection is closed or broken; nothing more can be sent on it.</summary>
    public bool IsFaulted => _fault is not null;

    public HelloResponse ServerHello { get; private set; } = null!;

    public AuthResponse Identity { get; private set; } = null!;

    public static async Task<SxpConnection> ConnectAsync(SxpEndpoint endpoint, string token, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ConnectTimeout);
        try
        {
            return await ConnectWithinAsync(endpoint, token, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"Connecting to {endpoint.Host}:{endpoint.Port} took longer than {ConnectTimeout.TotalSeconds:F0} s.");
        }
    }

    private static async Task<SxpConnection> ConnectWithinAsync(SxpEndpoint endpoint, string token, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true, SendBufferSize = 1 << 20, ReceiveBufferSize = 1 << 20 };
        tcp.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        SslStream? ssl = null;
        var refused = false;
        try
        {
            await tcp.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken).ConfigureAwait(false);
            ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = endpoint.Host,
                ApplicationProtocols = [new SslApplicationProtocol(SxpLimits.Alpn)],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                {
                    var trusted = endpoint.Trust.Validate(cert, chain, errors);
                    refused = !trusted;
                    return trusted;
                },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            ssl?.Dispose();
            tcp.Dispose();
            if (refused)
            {
                var seen = endpoint.Trust.LastSeen is { } certificate ? CertificateFingerprint.Of(certificate) : null;
                throw new UntrustedServerException($"The certificate of {endpoint.Host}:{endpoint.Port} ({seen ?? "none"}) is not trusted.", seen);
            }

            throw new IOException($"TLS handshake with {endpoint.Host}:{endpoint.Port} failed: {ex.Message}", ex);
        }
        catch
        {
            ssl?.Dispose();
            tcp.Dispose();
            throw;
        }

        var connection = new SxpConnection(tcp, ssl);
        connection._readLoop = Task.Run(connection.ReadLoopAsync, CancellationToken.None);
        try
        {
            connection.ServerHello = await connection.RequestAsync(
                FrameType.Hello, new HelloRequest(SxpLimits.Version, "sxfer"), SxpJsonContext.Default.HelloRequest,
                FrameType.HelloOk, SxpJsonContext.Default.HelloResponse, cancellationToken).ConfigureAwait(false);
            connection.Identity = await connection.RequestAsync(
                FrameType.Auth, new AuthRequest(token), SxpJsonContext.Default.AuthRequest,
                FrameType.AuthOk, SxpJsonContext.Default.AuthResponse, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens a new stream id on this connection; frames for it queue until read.</summary>
    public SxpStream OpenStream()
    {
        var id = (uint)Interlocked.Increment(ref _nextStreamId);
        var channel = Channel.CreateBounded<InboundFrame>(new BoundedChannelOptions(StreamCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _streams[id] = channel;
        if (_fault is not null)
        {
            channel.Writer.TryComplete(_fault);
        }

        return new SxpStream(this, id, channel.Reader);
    }

    internal void CloseStream(uint id)
    {
        if (_streams.TryRemove(id, out var channel))
        {
            channel.Writer.TryComplete();
            while (channel.Reader.TryRead(out var frame))
            {
                frame.Dispose();
            }
        }
    }

    public async Task<TResponse> RequestAsync<TRequest, TResponse>(
        FrameType type, TRequest request, JsonTypeInfo<TRequest> requestInfo,
        FrameType expected, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken)
    {
        using var stream = OpenStream();
        await SendControlAsync(type, stream.Id, request, requestInfo, cancellationToken).ConfigureAwait(false);
        using var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
        return ExpectControl(frame, expected, responseInfo);
    }

    /// <summary>Decodes <paramref name="frame"/> as the expected control response, or explains why it is not one.</summary>
    public static T ExpectControl<T>(InboundFrame frame, FrameType expected, JsonTypeInfo<T> typeInfo)
    {
        if (frame.Type != expected)
        {
            throw new SxpException(ErrorCode.BadFrame, $"Expected {expected} but the server sent {frame.Type}.");
        }

        return PayloadReader.ReadControl(frame.PayloadSequence, typeInfo);
    }

    public async ValueTask SendControlAsync<T>(FrameType type, uint streamId, T message, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        FrameWriter.WriteControl(buffer, type, streamId, message, typeInfo);
        await WriteAsync(buffer.WrittenMemory, default, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask SendPutAsync(uint streamId, PutRequest request, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(SxpLimits.HeaderSize + 1024 + data.Length);
        FrameWriter.WritePut(buffer, streamId, request, data.Span);
        await WriteAsync(buffer.WrittenMemory, default, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask SendDataAsync(uint streamId, long offset, uint crc32c, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var prefix = new byte[SxpLimits.HeaderSize + SxpLimits.DataPrefixSize];
        FrameWriter.WriteDataPrefix(prefix, streamId, offset, crc32c, data.Length);
        return WriteAsync(prefix, data, cancellationToken);
    }

    /// <summary>Writes one frame (in one or two pieces) under the write lock; a write cut short fails the connection.</summary>
    private async ValueTask WriteAsync(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfFaulted();
            await _ssl.WriteAsync(first, cancellationToken).ConfigureAwait(false);
            if (!second.IsEmpty)
            {
                await _ssl.WriteAsync(second, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException ex)
        {
            // Part of a frame may be on the wire: the byte stream can no longer be trusted.
            Fail(new IOException("A write was interrupted; the connection is no longer usable.", ex));
            throw;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw Fail(ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ThrowIfFaulted()
    {
        if (_fault is not null)
        {
            throw _fault is SxpException sxp ? new SxpException(sxp.Code, sxp.Message) : new IOException("The SXP connection is closed.", _fault);
        }
    }

    private Exception Fail(Exception ex)
    {
        var failure = ex is IOException or SxpException ? ex : new IOException("The SXP connection was lost.", ex);
        Interlocked.CompareExchange(ref _fault, failure, null);
        foreach (var channel in _streams.Values)
        {
            channel.Writer.TryComplete(_fault);
        }

        return failure;
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(_closing.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (true)
                {
                    var status = FrameParser.TryParse(buffer, SxpLimits.MaxPayload, out var header, out var payload);
                    if (status == ParseStatus.Incomplete)
                    {
                        break;
                    }

                    if (status != ParseStatus.Complete)
                    {
                        throw new SxpException(ErrorCode.BadFrame, $"The server sent an invalid frame ({status}).");
                    }

                    var frame = new InboundFrame(header, payload);
                    buffer = buffer.Slice(payload.End);
                    await DispatchAsync(frame).ConfigureAwait(false);
                }

                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    throw new IOException("The server closed the connection.");
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex is OperationCanceledException ? new IOException("The SXP connection was closed.", ex) : ex);
        }
    }

    private async ValueTask DispatchAsync(InboundFrame frame)
    {
        if (frame.Header.StreamId == 0 && frame.Type == FrameType.Error)
        {
            using (frame)
            {
                var error = PayloadReader.ReadControl(frame.PayloadSequence, SxpJsonContext.Default.ErrorResponse);
                throw new SxpException(error.Code, error.Message);
            }
        }

        if (!_streams.TryGetValue(frame.Header.StreamId, out var channel))
        {
            frame.Dispose();
            return;
        }

        try
        {
            await channel.Writer.WriteAsync(frame, _closing.Token).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            frame.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        try
        {
            _ssl.Dispose();
        }
        catch (IOException)
        {
            // Closing a connection whose peer is already gone.
        }

        await _readLoop.ConfigureAwait(false);
        await _reader.CompleteAsync().ConfigureAwait(false);
        _tcp.Dispose();
        _closing.Dispose();
        _writeLock.Dispose();
    }
}

/// <summary>One request/response exchange on a connection, identified by its stream id.</summary>
public sealed class SxpStream : IDisposable
{
    private readonly SxpConnection _connection;
    private readonly ChannelReader<InboundFrame> _frames;

    internal SxpStream(SxpConnection connection, uint id, ChannelReader<InboundFrame> frames)
    {
        _connection = connection;
        Id = id;
        _frames = frames;
    }

    public uint Id { get; }

    /// <summary>The next frame of this stream. An ERROR frame is raised as <see cref="SxpException"/>.</summary>
    public async ValueTask<InboundFrame> ReadAsync(CancellationToken cancellationToken)
    {
        InboundFrame frame;
        try
        {
            frame = await _frames.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw ex.InnerException switch
            {
                SxpException sxp => new SxpException(sxp.Code, sxp.Message),
                IOException io => new IOException(io.Message, io),
                var other => new IOException("The SXP connection was lost.", other ?? ex),
            };
        }

        if (frame.Type == FrameType.Error)
        {
            using (frame)
            {
                var error = PayloadReader.ReadControl(frame.PayloadSequence, SxpJsonContext.Default.ErrorResponse);
                throw new SxpException(error.Code, error.Message);
            }
        }

        return frame;
    }

    public void Dispose() => _connection.CloseStream(Id);
}
