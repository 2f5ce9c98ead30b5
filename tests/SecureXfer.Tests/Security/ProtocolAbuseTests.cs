using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using SecureXfer.Shared.Protocol;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

public sealed class ProtocolAbuseTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerProcess _server = fixture.Server;

    [Theory]
    [InlineData(FrameType.Stat)]
    [InlineData(FrameType.List)]
    [InlineData(FrameType.UploadOpen)]
    [InlineData(FrameType.DownloadOpen)]
    public async Task Nothing_is_served_before_HELLO(FrameType type)
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        await raw.SendAsync(type, 1, new PathRequest("/"), SxpJsonContext.Default.PathRequest);
        var error = await raw.ReadErrorAsync();
        Assert.Equal(ErrorCode.AuthRequired, error.Code);
        Assert.True(await raw.IsClosedAsync());
    }

    [Theory]
    [InlineData(FrameType.Stat)]
    [InlineData(FrameType.Mkdir)]
    [InlineData(FrameType.UploadOpen)]
    [InlineData(FrameType.Data)]
    [InlineData(FrameType.Remove)]
    [InlineData(FrameType.Move)]
    [InlineData(FrameType.SetModified)]
    [InlineData(FrameType.UploadCommit)]
    [InlineData(FrameType.UploadAbort)]
    [InlineData(FrameType.UploadAttach)]
    [InlineData(FrameType.Put)]
    public async Task Nothing_is_served_after_HELLO_without_AUTH(FrameType type)
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(1, "raw"), SxpJsonContext.Default.HelloRequest);
        Assert.Equal(FrameType.HelloOk, (await raw.ReadAsync()).Header.Type);

        await raw.SendAsync(type, 2, new PathRequest("/made-before-auth"), SxpJsonContext.Default.PathRequest);
        var error = await raw.ReadErrorAsync();
        Assert.Equal(ErrorCode.AuthRequired, error.Code);
        Assert.True(await raw.IsClosedAsync());
        Assert.False(Directory.Exists(Path.Combine(_server.UserRoot(1), "made-before-auth")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwibmFtZSI6ImFkbWluIn0.")]
    public async Task A_bad_token_is_refused_and_the_connection_closed(string token)
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(1, "raw"), SxpJsonContext.Default.HelloRequest);
        await raw.ReadAsync();
        await raw.SendAsync(FrameType.Auth, 2, new AuthRequest(token), SxpJsonContext.Default.AuthRequest);
        Assert.Equal(ErrorCode.AuthFailed, (await raw.ReadErrorAsync()).Code);
        Assert.True(await raw.IsClosedAsync());
    }

    [Fact]
    public async Task A_wrong_protocol_version_is_refused()
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(99, "raw"), SxpJsonContext.Default.HelloRequest);
        Assert.Equal(ErrorCode.UnsupportedVersion, (await raw.ReadErrorAsync()).Code);
        Assert.True(await raw.IsClosedAsync());
    }

    [Fact]
    public async Task A_huge_frame_before_authentication_is_refused_from_its_header_alone()
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        var clock = Stopwatch.StartNew();
        await raw.SendHeaderAsync(0xFFFF_FFF0, FrameType.Hello, 1);

        // The body is never sent: an answer proves the server judged the header without waiting for (or allocating) 4 GiB.
        var error = await raw.ReadErrorAsync();
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.True(await raw.IsClosedAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_frame_just_over_the_limit_after_authentication_is_refused()
    {
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync());
        await raw.SendHeaderAsync(SxpLimits.MaxPayload + 1, FrameType.Data, 7);
        Assert.Equal(ErrorCode.FrameTooLarge, (await raw.ReadErrorAsync()).Code);
        Assert.True(await raw.IsClosedAsync());
    }

    [Fact]
    public async Task An_unknown_frame_type_closes_the_connection()
    {
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync());
        await raw.SendHeaderAsync(0, (FrameType)0x55, 3);
        Assert.Equal(ErrorCode.BadFrame, (await raw.ReadErrorAsync()).Code);
        Assert.True(await raw.IsClosedAsync());
    }

    [Fact]
    public async Task Malformed_JSON_gets_a_typed_error_and_the_connection_stays_usable()
    {
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync());
        var junk = "{not json"u8.ToArray();
        await raw.SendHeaderAsync((uint)junk.Length, FrameType.Stat, 5);
        await raw.SendBytesAsync(junk);
        Assert.Equal(ErrorCode.BadFrame, (await raw.ReadErrorAsync()).Code);
    }

    [Fact]
    public async Task A_plaintext_client_on_the_SXP_port_gets_no_SXP_answer()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", _server.SxpPort);
        var stream = tcp.GetStream();
        var hello = new System.Buffers.ArrayBufferWriter<byte>();
        FrameWriter.WriteControl(hello, FrameType.Hello, 1, new HelloRequest(1, "plain"), SxpJsonContext.Default.HelloRequest);
        await stream.WriteAsync(hello.WrittenMemory);

        var received = new List<byte>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (IOException)
        {
            // Reset by the server: also nothing served.
        }

        // Either nothing at all, or a TLS alert record (content type 21): never an SXP frame.
        Assert.True(received.Count == 0 || received[0] == 21, $"got {received.Count} bytes starting with {received.FirstOrDefault()}");
        Assert.DoesNotContain((byte)FrameType.HelloOk, received.Count >= 5 ? [received[4]] : Array.Empty<byte>());
    }

    [Fact]
    public async Task A_TLS_client_without_the_sxp_ALPN_is_disconnected()
    {
        await using var raw = await RawSxp.ConnectAsync(_server, alpn: false);
        try
        {
            await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(1, "raw"), SxpJsonContext.Default.HelloRequest);
        }
        catch (IOException)
        {
            // Already closed.
        }

        Assert.True(await raw.IsClosedAsync());
    }

    [Fact]
    public async Task A_client_offering_only_http_ALPN_does_not_get_an_SXP_session()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", _server.SxpPort);
        await using var ssl = new SslStream(tcp.GetStream());
        var trust = _server.Trust;
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, c, ch, e) => trust.Validate(c, ch, e),
            });
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            return; // Refused during the handshake.
        }

        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        int read;
        try
        {
            read = await ssl.ReadAsync(buffer, timeout.Token);
        }
        catch (IOException)
        {
            read = 0;
        }

        Assert.Equal(0, read);
    }

    [Fact]
    public async Task Data_for_a_stream_without_an_upload_is_refused()
    {
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, await _server.LoginAsync());
        await raw.SendDataAsync(9, 0, new byte[100]);
        Assert.Equal(ErrorCode.UploadGone, (await raw.ReadErrorAsync()).Code);
    }
}
