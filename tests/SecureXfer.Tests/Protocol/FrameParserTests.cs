using System.Buffers;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Tests.Protocol;

public sealed class FrameParserTests
{
    private static byte[] Frame(FrameType type, uint stream, byte[] payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteRaw(buffer, type, stream, payload);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_whole_frame_is_parsed_and_its_payload_sliced()
    {
        var bytes = Frame(FrameType.Ping, 42, [1, 2, 3]);
        var status = FrameParser.TryParse(new ReadOnlySequence<byte>(bytes), 1024, out var header, out var payload);
        Assert.Equal(ParseStatus.Complete, status);
        Assert.Equal(FrameType.Ping, header.Type);
        Assert.Equal(42u, header.StreamId);
        Assert.Equal(new byte[] { 1, 2, 3 }, payload.ToArray());
    }

    [Fact]
    public void A_frame_split_at_every_byte_is_incomplete_until_its_last_byte()
    {
        var bytes = Frame(FrameType.Stat, 7, new byte[100]);
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            Assert.Equal(ParseStatus.Incomplete, FrameParser.TryParse(new ReadOnlySequence<byte>(bytes, 0, cut), 1024, out _, out _));
        }
    }

    [Fact]
    public void A_header_split_across_segments_is_read()
    {
        var bytes = Frame(FrameType.Stat, 9, new byte[5]);
        var first = new Segment(bytes.AsMemory(0, 5));
        var last = first.Append(bytes.AsMemory(5));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        Assert.Equal(ParseStatus.Complete, FrameParser.TryParse(sequence, 1024, out var header, out var payload));
        Assert.Equal(9u, header.StreamId);
        Assert.Equal(5, payload.Length);
    }

    [Theory]
    [InlineData(1025u)]
    [InlineData(uint.MaxValue)]
    [InlineData(0x8000_0000u)]
    public void A_declared_length_over_the_limit_is_refused_from_the_header_alone(uint length)
    {
        var header = new byte[SxpLimits.HeaderSize];
        new FrameHeader(length, FrameType.Data, FrameFlags.None, 1).Write(header);
        Assert.Equal(ParseStatus.TooLarge, FrameParser.TryParse(new ReadOnlySequence<byte>(header), 1024, out _, out _));
    }

    [Fact]
    public void An_unknown_type_is_malformed()
    {
        var bytes = Frame(FrameType.Ping, 1, []);
        bytes[4] = 0xEE;
        Assert.Equal(ParseStatus.Malformed, FrameParser.TryParse(new ReadOnlySequence<byte>(bytes), 1024, out _, out _));
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(1234);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            var status = FrameParser.TryParse(new ReadOnlySequence<byte>(bytes), 1 << 20, out _, out var payload);
            if (status == ParseStatus.Complete)
            {
                Assert.True(payload.Length <= bytes.Length);
                try
                {
                    PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadOpenRequest);
                }
                catch (SxpException ex)
                {
                    Assert.True(ex.Code is ErrorCode.BadFrame or ErrorCode.FrameTooLarge);
                }
            }
        }
    }

    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        var sequence = new ReadOnlySequence<byte>("123456789"u8.ToArray());
        Assert.Equal(0xE3069283u, Crc32C.Compute(sequence));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
