using System.Buffers;
using System.Security.Cryptography;
using SecureXfer.Shared.Hashing;

namespace SecureXfer.Shared.Protocol.Client;

public sealed partial class SxpClient
{
    /// <summary>
    /// Stores a small file (at most <see cref="SxpLimits.MaxPutSize"/> bytes) in one request: the
    /// bytes and their SHA-256 travel in a single PUT frame and the answer comes once the file is
    /// durable and visible, with the local file's modification time. Safe to call concurrently: many PUTs share the primary connection, each
    /// on its own stream, so a folder of small files costs one round trip in total, not one per file.
    /// </summary>
    public async Task<TransferResult> PutAsync(string localPath, string remotePath, OverwritePolicy overwrite, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(localPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        var size = RandomAccess.GetLength(file);
        var modified = new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero);
        if (size > SxpLimits.MaxPutSize)
        {
            throw new ArgumentException($"{localPath} is larger than a single PUT allows; use UploadAsync.", nameof(localPath));
        }

        var length = (int)size;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = await RandomAccess.ReadAsync(file, buffer.AsMemory(read, length - read), read, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("The local file became shorter while it was being read.");
                }

                read += n;
            }

            var sha256 = HashText.ToHex(SHA256.HashData(buffer.AsSpan(0, length)));
            var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            using var stream = connection.OpenStream();
            await connection.SendPutAsync(stream.Id, new PutRequest(remotePath, size, sha256, overwrite) { Modified = modified }, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            using var frame = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
            SxpConnection.ExpectControl(frame, FrameType.UploadDone, SxpJsonContext.Default.OkResponse);
            return new TransferResult(localPath, remotePath, size, 0, size, sha256);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
