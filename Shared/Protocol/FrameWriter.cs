using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace SecureXfer.Shared.Protocol;

/// <summary>Writes whole frames into a buffer writer. Callers serialise access: one writer at a time.</summary>
public static class FrameWriter
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    public static void WriteControl<T>(IBufferWriter<byte> output, FrameType type, uint streamId, T message, JsonTypeInfo<T> typeInfo, FrameFlags flags = FrameFlags.None)
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
        scratch.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(scratch))
        {
            JsonSerializer.Serialize(json, message, typeInfo);
        }

        WriteRaw(output, type, streamId, scratch.WrittenSpan, flags);
        if (scratch.Capacity > 256 * 1024)
        {
            t_scratch = null;
        }
    }

    public static void WriteRaw(IBufferWriter<byte> output, FrameType type, uint streamId, ReadOnlySpan<byte> payload, FrameFlags flags = FrameFlags.None)
    {
        if (payload.Length > SxpLimits.MaxPayload)
        {
            throw new SxpException(ErrorCode.FrameTooLarge, $"Payload of {payload.Length} bytes exceeds the frame limit.");
        }

        var span = output.GetSpan(SxpLimits.HeaderSize + payload.Length);
        new FrameHeader((uint)payload.Length, type, flags, streamId).Write(span);
        payload.CopyTo(span[SxpLimits.HeaderSize..]);
        output.Advance(SxpLimits.HeaderSize + payload.Length);
    }

    /// <summary>Writes a whole PUT frame: header length, JSON header, then the file's bytes.</summary>
    public static void WritePut(IBufferWriter<byte> output, uint streamId, PutRequest request, ReadOnlySpan<byte> data)
    {
        var header = JsonSerializer.SerializeToUtf8Bytes(request, SxpJsonContext.Default.PutRequest);
        var payloadLength = 4 + header.Length + data.Length;
        var span = output.GetSpan(SxpLimits.HeaderSize + payloadLength);
        new FrameHeader((uint)payloadLength, FrameType.Put, FrameFlags.None, streamId).Write(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[SxpLimits.HeaderSize..], (uint)header.Length);
        header.CopyTo(span[(SxpLimits.HeaderSize + 4)..]);
        data.CopyTo(span[(SxpLimits.HeaderSize + 4 + header.Length)..]);
        output.Advance(SxpLimits.HeaderSize + payloadLength);
    }

    /// <summary>Writes the header and offset/CRC prefix of a DATA frame into the first 24 bytes of <paramref name="destination"/>; the file bytes follow it.</summary>
    public static void WriteDataPrefix(Span<byte> destination, uint streamId, long offset, uint crc32c, int dataLength)
    {
        new FrameHeader((uint)(SxpLimits.DataPrefixSize + dataLength), FrameType.Data, FrameFlags.None, streamId).Write(destination);
        BinaryPrimitives.WriteInt64BigEndian(destination[SxpLimits.HeaderSize..], offset);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(SxpLimits.HeaderSize + 8)..], crc32c);
    }

    /// <summary>Writes a CHUNK_ACK: offset (8), length (4), status (1: 0 stored, 1 checksum mismatch).</summary>
    public static void WriteChunkAck(IBufferWriter<byte> output, uint streamId, long offset, int length, bool stored)
    {
        Span<byte> payload = stackalloc byte[13];
        BinaryPrimitives.WriteInt64BigEndian(payload, offset);
        BinaryPrimitives.WriteInt32BigEndian(payload[8..], length);
        payload[12] = stored ? (byte)0 : (byte)1;
        WriteRaw(output, FrameType.ChunkAck, streamId, payload);
    }

    public static void WriteError(IBufferWriter<byte> output, uint streamId, ErrorCode code, string message) =>
        WriteControl(output, FrameType.Error, streamId, new ErrorResponse(code, message), SxpJsonContext.Default.ErrorResponse);
}
