using System.Buffers;

namespace SecureXfer.Shared.Protocol.Client;

/// <summary>A frame received by the client, its payload in a pooled buffer returned on dispose.</summary>
public sealed class InboundFrame : IDisposable
{
    private byte[]? _buffer;

    internal InboundFrame(FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        Header = header;
        Length = (int)payload.Length;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(Length, 1));
        payload.CopyTo(_buffer);
    }

    public FrameHeader Header { get; }

    public FrameType Type => Header.Type;

    public int Length { get; }

    public ReadOnlyMemory<byte> Payload => (_buffer ?? throw new ObjectDisposedException(nameof(InboundFrame))).AsMemory(0, Length);

    public ReadOnlySequence<byte> PayloadSequence => new(Payload);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
