using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace SecureXfer.Shared.Protocol;

/// <summary>Decoding helpers for payloads sliced out by <see cref="FrameParser"/>.</summary>
public static class PayloadReader
{
    public static T ReadControl<T>(in ReadOnlySequence<byte> payload, JsonTypeInfo<T> typeInfo)
    {
        if (payload.Length > SxpLimits.MaxControlPayload)
        {
            throw new SxpException(ErrorCode.FrameTooLarge, "Control payload too large.");
        }

        if (payload.IsSingleSegment)
        {
            return ReadControl(payload.FirstSpan, typeInfo);
        }

        // The JSON reader is only ever given contiguous bytes: its multi-segment path throws
        // IndexOutOfRangeException instead of JsonException on some invalid literals split
        // across segments (found by the frame fuzzer).
        var length = (int)payload.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(copy);
            return ReadControl(copy.AsSpan(0, length), typeInfo);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static T ReadControl<T>(ReadOnlySpan<byte> payload, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 16 });
            return JsonSerializer.Deserialize(ref reader, typeInfo)
                ?? throw new SxpException(ErrorCode.BadFrame, "Empty control payload.");
        }
        catch (JsonException ex)
        {
            throw new SxpException(ErrorCode.BadFrame, $"Malformed control payload: {ex.Message}");
        }
    }

    /// <summary>Splits a DATA payload into its offset, CRC32C and file bytes.</summary>
    public static bool TryReadData(in ReadOnlySequence<byte> payload, out long offset, out uint crc32c, out ReadOnlySequence<byte> data)
    {
        if (payload.Length < SxpLimits.DataPrefixSize)
        {
            offset = 0;
            crc32c = 0;
            data = default;
            return false;
        }

        Span<byte> prefix = stackalloc byte[SxpLimits.DataPrefixSize];
        payload.Slice(0, SxpLimits.DataPrefixSize).CopyTo(prefix);
        offset = BinaryPrimitives.ReadInt64BigEndian(prefix);
        crc32c = BinaryPrimitives.ReadUInt32BigEndian(prefix[8..]);
        data = payload.Slice(SxpLimits.DataPrefixSize);
        return true;
    }

    /// <summary>Splits a PUT payload into its header and the file's bytes. Malformed or inconsistent payloads are a <see cref="ErrorCode.BadFrame"/>.</summary>
    public static PutRequest ReadPut(in ReadOnlySequence<byte> payload, out ReadOnlySequence<byte> data)
    {
        if (payload.Length < 4)
        {
            throw new SxpException(ErrorCode.BadFrame, "PUT payload shorter than its header length.");
        }

        Span<byte> lengthBytes = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt32BigEndian(lengthBytes);
        if (headerLength == 0 || headerLength > 16 * 1024 || headerLength > payload.Length - 4)
        {
            throw new SxpException(ErrorCode.BadFrame, "PUT header length is out of range.");
        }

        var request = ReadControl(payload.Slice(4, headerLength), SxpJsonContext.Default.PutRequest);
        data = payload.Slice(4 + headerLength);
        if (request.Size != data.Length)
        {
            throw new SxpException(ErrorCode.BadRequest, $"PUT declares {request.Size} bytes but carries {data.Length}.");
        }

        return request;
    }

    public static bool TryReadChunkAck(ReadOnlySpan<byte> payload, out long offset, out int length, out bool stored)
    {
        if (payload.Length != 13)
        {
            offset = 0;
            length = 0;
            stored = false;
            return false;
        }

        offset = BinaryPrimitives.ReadInt64BigEndian(payload);
        length = BinaryPrimitives.ReadInt32BigEndian(payload[8..]);
        stored = payload[12] == 0;
        return true;
    }
}
