using System.Buffers.Binary;
using System.Text;

namespace SecureXfer.Shared.Endpoints.Sftp;

/// <summary>
/// Uploads with many WRITE requests in flight. libssh 0.10's <c>sftp_write</c> waits for each
/// answer before the next request, which costs a round trip per block; so writes speak the SFTP
/// version 3 protocol (draft-ietf-secsh-filexfer-02) themselves, on a second channel of the same
/// SSH session: INIT, OPEN, then WRITEs sent ahead of their STATUS answers (up to
/// <see cref="InFlight"/>), then fsync@openssh.com where offered, and CLOSE.
/// </summary>
internal sealed class SftpPipelinedWriter : IDisposable
{
    private const byte Init = 1;
    private const byte Version = 2;
    private const byte Open = 3;
    private const byte Close = 4;
    private const byte Write = 6;
    private const byte Status = 101;
    private const byte Handle = 102;
    private const byte Extended = 200;

    private const uint FlagWrite = 0x02;
    private const uint FlagCreate = 0x08;
    private const uint FlagTruncate = 0x10;

    public const int Block = 64 * 1024;
    public const int InFlight = 16;
    private const int MaxPacket = 256 * 1024;

    private readonly LibSsh.ChannelHandle _channel;
    private readonly int _timeoutMs;
    private uint _nextId = 1;

    private SftpPipelinedWriter(LibSsh.ChannelHandle channel, int timeoutMs)
    {
        _channel = channel;
        _timeoutMs = timeoutMs;
    }

    /// <summary>The extensions the server announced in its VERSION answer.</summary>
    public IReadOnlySet<string> Extensions { get; private set; } = new HashSet<string>();

    private bool Fsync => Extensions.Contains("fsync@openssh.com");

    /// <summary>A channel running the server's sftp subsystem, past the version exchange.</summary>
    public static SftpPipelinedWriter Start(LibSsh.SessionHandle session, TimeSpan timeout)
    {
        var channel = LibSsh.ChannelHandle.Create(session) ?? throw new SftpException("No SSH channel for writing: " + LibSsh.ErrorOf(session), connectionLost: true);
        if (LibSsh.ChannelOpenSession(channel) != LibSsh.Ok || LibSsh.ChannelRequestSubsystem(channel, "sftp") != LibSsh.Ok)
        {
            channel.Dispose();
            throw new SftpException("The server refused an SFTP channel for writing: " + LibSsh.ErrorOf(session), connectionLost: true);
        }

        var writer = new SftpPipelinedWriter(channel, (int)Math.Clamp(timeout.TotalMilliseconds, 1000, int.MaxValue));
        try
        {
            Span<byte> init = stackalloc byte[9];
            BinaryPrimitives.WriteUInt32BigEndian(init, 5);
            init[4] = Init;
            BinaryPrimitives.WriteUInt32BigEndian(init[5..], 3);
            writer.Send(init);
            var version = writer.Receive();
            if (version.Length < 5 || version[0] != Version)
            {
                throw new SftpException("The SFTP server answered INIT with something else than VERSION.");
            }

            // Extensions follow the version as name/data string pairs.
            var extensions = new HashSet<string>(StringComparer.Ordinal);
            ReadOnlySpan<byte> rest = version.AsSpan(5);
            while (rest.Length >= 4)
            {
                extensions.Add(Encoding.UTF8.GetString(ReadString(ref rest)));
                _ = ReadString(ref rest);
            }

            writer.Extensions = extensions;
            return writer;
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="input"/> from its position to <paramref name="path"/> at <paramref name="offset"/>, reporting the bytes in place.</summary>
    public void Upload(string path, Stream input, long offset, bool truncate, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var handle = OpenFile(path, FlagWrite | FlagCreate | (truncate ? FlagTruncate : 0));

        // After a failure, answers may still be on their way: the caller discards this writer, so no CLOSE is tried.
        var finished = false;
        try
        {
            var pending = new Queue<(uint Id, int Length)>();
            var buffer = new byte[Block];
            var sent = offset;
            var acknowledged = offset;
            var done = false;
            while (!done || pending.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                while (!done && pending.Count < InFlight)
                {
                    var read = input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                    if (read == 0)
                    {
                        done = true;
                        break;
                    }

                    var id = _nextId++;
                    var packet = new byte[4 + 1 + 4 + 4 + handle.Length + 8 + 4 + read];
                    var span = packet.AsSpan();
                    BinaryPrimitives.WriteUInt32BigEndian(span, (uint)(packet.Length - 4));
                    span[4] = Write;
                    BinaryPrimitives.WriteUInt32BigEndian(span[5..], id);
                    var at = WriteString(span, 9, handle);
                    BinaryPrimitives.WriteUInt64BigEndian(span[at..], (ulong)sent);
                    WriteString(span, at + 8, buffer.AsSpan(0, read));
                    Send(packet);
                    pending.Enqueue((id, read));
                    sent += read;
                }

                if (pending.Count > 0)
                {
                    var (id, length) = pending.Dequeue();
                    ExpectOk(Receive(), id, "write " + path);
                    acknowledged += length;
                    progress?.Report(acknowledged);
                }
            }

            if (Fsync)
            {
                var id = _nextId++;
                var name = "fsync@openssh.com"u8;
                var packet = new byte[4 + 1 + 4 + 4 + name.Length + 4 + handle.Length];
                BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(packet.Length - 4));
                packet[4] = Extended;
                BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(5), id);
                var at = WriteString(packet, 9, name);
                WriteString(packet, at, handle);
                Send(packet);
                ExpectOk(Receive(), id, "flush " + path);
            }

            finished = true;
        }
        finally
        {
            if (finished)
            {
                CloseFile(handle);
            }
        }
    }

    /// <summary>posix-rename@openssh.com: replaces an existing target atomically (plain SFTP v3 rename refuses one).</summary>
    public void PosixRename(string from, string to)
    {
        var id = _nextId++;
        var name = "posix-rename@openssh.com"u8;
        var source = Encoding.UTF8.GetBytes(from);
        var target = Encoding.UTF8.GetBytes(to);
        var packet = new byte[4 + 1 + 4 + 4 + name.Length + 4 + source.Length + 4 + target.Length];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(packet.Length - 4));
        packet[4] = Extended;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(5), id);
        var at = WriteString(packet, 9, name);
        at = WriteString(packet, at, source);
        WriteString(packet, at, target);
        Send(packet);
        ExpectOk(Receive(), id, $"rename {from} to {to}");
    }

    private byte[] OpenFile(string path, uint flags)
    {
        var name = Encoding.UTF8.GetBytes(path);
        var id = _nextId++;
        var packet = new byte[4 + 1 + 4 + 4 + name.Length + 4 + 4];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(packet.Length - 4));
        packet[4] = Open;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(5), id);
        var at = WriteString(packet, 9, name);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(at), flags);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(at + 4), 0);
        Send(packet);
        var answer = Receive();
        if (answer.Length >= 5 && answer[0] == Handle && BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(1)) == id)
        {
            ReadOnlySpan<byte> rest = answer.AsSpan(5);
            return ReadString(ref rest).ToArray();
        }

        ExpectOk(answer, id, "open " + path);
        throw new SftpException($"Cannot open {path} for writing: the server sent no handle.");
    }

    private void CloseFile(byte[] handle)
    {
        var id = _nextId++;
        var packet = new byte[4 + 1 + 4 + 4 + handle.Length];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(packet.Length - 4));
        packet[4] = Close;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(5), id);
        WriteString(packet, 9, handle);
        Send(packet);
        ExpectOk(Receive(), id, "close");
    }

    /// <summary>A STATUS answer to request <paramref name="id"/> with code OK; anything else is an error naming the server's reason.</summary>
    private static void ExpectOk(byte[] answer, uint id, string what)
    {
        if (answer.Length < 9 || answer[0] != Status || BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(1)) != id)
        {
            throw new SftpException($"Cannot {what}: the SFTP server's answer is out of step.", connectionLost: true);
        }

        var code = (int)BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(5));
        if (code != 0)
        {
            ReadOnlySpan<byte> rest = answer.AsSpan(9);
            var message = rest.Length >= 4 ? Encoding.UTF8.GetString(ReadString(ref rest)) : "failed";
            throw new SftpException($"Cannot {what}: {message}.", code);
        }
    }

    private static int WriteString(Span<byte> packet, int at, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(packet[at..], (uint)value.Length);
        value.CopyTo(packet[(at + 4)..]);
        return at + 4 + value.Length;
    }

    private static ReadOnlySpan<byte> ReadString(ref ReadOnlySpan<byte> rest)
    {
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(rest);
        if (length < 0 || length > rest.Length - 4)
        {
            throw new SftpException("The SFTP server sent a malformed string.", connectionLost: true);
        }

        var value = rest.Slice(4, length);
        rest = rest[(4 + length)..];
        return value;
    }

    private unsafe void Send(ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var written = LibSsh.ChannelWrite(_channel, start + done, (uint)(data.Length - done));
                if (written <= 0)
                {
                    throw new SftpException("The SFTP connection was lost while writing.", LibSsh.ConnectionLost, connectionLost: true);
                }

                done += written;
            }
        }
    }

    /// <summary>One packet's body (type byte onwards).</summary>
    private byte[] Receive()
    {
        Span<byte> header = stackalloc byte[4];
        ReadExactly(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length is 0 or > MaxPacket)
        {
            throw new SftpException($"The SFTP server sent a packet of {length} bytes.", connectionLost: true);
        }

        var body = new byte[length];
        ReadExactly(body);
        return body;
    }

    private unsafe void ReadExactly(Span<byte> destination)
    {
        fixed (byte* start = destination)
        {
            var done = 0;
            while (done < destination.Length)
            {
                var read = LibSsh.ChannelRead(_channel, start + done, (uint)(destination.Length - done), 0, _timeoutMs);
                if (read <= 0)
                {
                    throw new SftpException(read == 0 ? "The SFTP server did not answer in time." : "The SFTP connection was lost while reading.", LibSsh.ConnectionLost, connectionLost: true);
                }

                done += read;
            }
        }
    }

    public void Dispose() => _channel.Dispose();
}
