using System.Buffers;
using System.Buffers.Binary;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Fuzz;

/// <summary>Well-formed SXP frames of every kind a client sends: the seeds that mutation starts from.</summary>
public static class Corpus
{
    public static IReadOnlyList<byte[]> ClientFrames(string token) =>
    [
        Control(FrameType.Hello, 1, new HelloRequest(SxpLimits.Version, "fuzz"), SxpJsonContext.Default.HelloRequest),
        Control(FrameType.Auth, 2, new AuthRequest(token), SxpJsonContext.Default.AuthRequest),
        Control(FrameType.Stat, 3, new PathRequest("/a/b.txt"), SxpJsonContext.Default.PathRequest),
        Control(FrameType.List, 4, new PathRequest("/"), SxpJsonContext.Default.PathRequest),
        Control(FrameType.Mkdir, 5, new PathRequest("/fuzz/dir"), SxpJsonContext.Default.PathRequest),
        Control(FrameType.Remove, 6, new RemoveRequest("/fuzz/dir", true), SxpJsonContext.Default.RemoveRequest),
        Control(FrameType.Move, 7, new MoveRequest("/fuzz/a", "/fuzz/b", false), SxpJsonContext.Default.MoveRequest),
        Control(FrameType.SetModified, 8, new SetModifiedRequest("/fuzz/a", DateTimeOffset.UnixEpoch), SxpJsonContext.Default.SetModifiedRequest),
        Control(FrameType.UploadOpen, 9, new UploadOpenRequest("/fuzz/up.bin", 200_000, 65536, OverwritePolicy.Replace, null), SxpJsonContext.Default.UploadOpenRequest),
        Control(FrameType.UploadAttach, 9, new UploadAttachRequest("0123456789abcdef0123456789abcdef"), SxpJsonContext.Default.UploadAttachRequest),
        Data(9, 65536, [1, 2, 3, 4, 5, 6, 7, 8]),
        Control(FrameType.UploadCommit, 9, new UploadCommitRequest("0123456789abcdef0123456789abcdef", new string('0', 64)), SxpJsonContext.Default.UploadCommitRequest),
        Control(FrameType.UploadAbort, 9, new UploadAbortRequest("0123456789abcdef0123456789abcdef"), SxpJsonContext.Default.UploadAbortRequest),
        Put(10, "/fuzz/small.txt", "hello"u8.ToArray()),
        Control(FrameType.DownloadOpen, 11, new DownloadOpenRequest("/fuzz/small.txt", 0, -1), SxpJsonContext.Default.DownloadOpenRequest),
        Raw(FrameType.Ping, 12, []),
    ];

    private static byte[] Control<T>(FrameType type, uint stream, T message, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteControl(buffer, type, stream, message, info);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Raw(FrameType type, uint stream, byte[] payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteRaw(buffer, type, stream, payload);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Data(uint stream, long offset, byte[] bytes)
    {
        var payload = new byte[SxpLimits.DataPrefixSize + bytes.Length];
        BinaryPrimitives.WriteInt64BigEndian(payload, offset);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8), SecureXfer.Shared.Hashing.Crc32C.Compute(bytes));
        bytes.CopyTo(payload, SxpLimits.DataPrefixSize);
        return Raw(FrameType.Data, stream, payload);
    }

    private static byte[] Put(uint stream, string path, byte[] bytes)
    {
        var header = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new PutRequest(path, bytes.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), OverwritePolicy.Replace),
            SxpJsonContext.Default.PutRequest);
        var payload = new byte[4 + header.Length + bytes.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)header.Length);
        header.CopyTo(payload, 4);
        bytes.CopyTo(payload, 4 + header.Length);
        return Raw(FrameType.Put, stream, payload);
    }

    /// <summary>A stream of a few seed frames, mutated; now and then plain random bytes.</summary>
    public static byte[] Generate(Mutator mutator, IReadOnlyList<byte[]> seeds)
    {
        var random = mutator.Random;
        if (random.Next(16) == 0)
        {
            return mutator.RandomBytes(random.Next(64));
        }

        var stream = new List<byte>();
        var frames = 1 + random.Next(4);
        for (var i = 0; i < frames; i++)
        {
            stream.AddRange(seeds[random.Next(seeds.Count)]);
        }

        return mutator.Mutate(stream.ToArray(), seeds[random.Next(seeds.Count)]);
    }
}
