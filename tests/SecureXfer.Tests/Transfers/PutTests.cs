using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Protocol;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

/// <summary>Small files sent whole in one PUT, committed in batches and answered once durable.</summary>
public sealed class PutTests : IAsyncLifetime
{
    private readonly TempDir _local = new("sx-put");
    private ServerProcess _server = null!;

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _local.Dispose();
    }

    [Fact]
    public async Task Hundreds_of_concurrent_puts_are_all_stored_recorded_and_survive_a_crash_right_after()
    {
        await using var client = await _server.ConnectAsync();
        var files = Enumerable.Range(0, 600).Select(i =>
        {
            var path = _local.Combine($"f{i}.bin");
            return (Path: path, Sha: TestFiles.WriteRandom(path, i % 7 == 0 ? 0 : 1 + (i * 37 % 9000), seed: i));
        }).ToList();

        var results = await Task.WhenAll(files.Select(f => client.PutAsync(f.Path, "/many/" + Path.GetFileName(f.Path), OverwritePolicy.Replace, CancellationToken.None)));
        Assert.Equal(files.Select(f => f.Sha), results.Select(r => r.Sha256));

        // Acknowledged means durable and recorded: a SIGKILL straight after loses nothing.
        _server.Kill();
        await _server.StartAgainAsync();
        await using var again = await _server.ConnectAsync();
        var listing = (await again.ListAsync("/many", CancellationToken.None)).ToDictionary(e => e.Name);
        Assert.Equal(600, listing.Count);
        foreach (var (path, sha) in files)
        {
            Assert.Equal(sha, listing[Path.GetFileName(path)].Sha256);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "staging")));
    }

    [Fact]
    public async Task A_put_replaces_or_refuses_an_existing_file_by_its_policy_and_never_writes_over_a_directory()
    {
        await using var client = await _server.ConnectAsync();
        var first = _local.Combine("first");
        var second = _local.Combine("second");
        TestFiles.WriteRandom(first, 1000, seed: 1);
        var secondSha = TestFiles.WriteRandom(second, 2000, seed: 2);

        await client.PutAsync(first, "/p/file", OverwritePolicy.Replace, CancellationToken.None);
        var refused = await Assert.ThrowsAsync<SxpException>(() => client.PutAsync(second, "/p/file", OverwritePolicy.Fail, CancellationToken.None));
        Assert.Equal(ErrorCode.Conflict, refused.Code);
        await client.PutAsync(second, "/p/file", OverwritePolicy.Replace, CancellationToken.None);
        Assert.Equal(secondSha, (await client.StatAsync("/p/file", CancellationToken.None)).Sha256);

        await client.MkdirAsync("/p/dir", CancellationToken.None);
        var onDirectory = await Assert.ThrowsAsync<SxpException>(() => client.PutAsync(first, "/p/dir", OverwritePolicy.Replace, CancellationToken.None));
        Assert.Equal(ErrorCode.Conflict, onDirectory.Code);
        Assert.Equal(EntryType.Dir, (await client.StatAsync("/p/dir", CancellationToken.None)).Type);
    }

    [Fact]
    public async Task A_put_over_the_quota_is_refused_and_leaves_nothing_behind()
    {
        await _server.AddUserAsync("quinn", "quinn-password", quotaBytes: 10_000);
        await using var client = await _server.ConnectAsync("quinn", "quinn-password");
        var files = Enumerable.Range(0, 4).Select(i =>
        {
            var path = _local.Combine($"q{i}");
            TestFiles.WriteRandom(path, 4000, seed: i);
            return path;
        }).ToList();

        var outcomes = await Task.WhenAll(files.Select(async f =>
        {
            try
            {
                await client.PutAsync(f, "/" + Path.GetFileName(f), OverwritePolicy.Replace, CancellationToken.None);
                return (ErrorCode?)null;
            }
            catch (SxpException ex)
            {
                return ex.Code;
            }
        }));

        Assert.Equal(2, outcomes.Count(o => o is null));
        Assert.Equal(2, outcomes.Count(o => o == ErrorCode.QuotaExceeded));
        Assert.Equal(8000L, _server.Scalar("SELECT sum(size) FROM files f JOIN users u ON u.id = f.owner_id WHERE u.username = 'quinn'"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "staging")));
    }

    [Fact]
    public async Task Bad_puts_get_exact_refusals_and_store_nothing()
    {
        var token = await _server.LoginAsync();
        await using var raw = await RawSxp.ConnectAuthenticatedAsync(_server, token);
        var data = RandomNumberGenerator.GetBytes(3000);
        var sha = HashText.ToHex(SHA256.HashData(data));

        await raw.SendBytesAsync(Put(3, new PutRequest("/bad/wrong-hash", data.Length, new string('0', 64), OverwritePolicy.Replace), data));
        Assert.Equal(ErrorCode.IntegrityFailed, (await raw.ReadErrorAsync()).Code);

        await raw.SendBytesAsync(Put(5, new PutRequest("/bad/short", data.Length + 1, sha, OverwritePolicy.Replace), data));
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);

        await raw.SendBytesAsync(Put(7, new PutRequest("/../escape", data.Length, sha, OverwritePolicy.Replace), data));
        Assert.Equal(ErrorCode.InvalidPath, (await raw.ReadErrorAsync()).Code);

        var big = RandomNumberGenerator.GetBytes(SxpLimits.MaxPutSize + 1);
        await raw.SendBytesAsync(Put(9, new PutRequest("/bad/big", big.Length, HashText.ToHex(SHA256.HashData(big)), OverwritePolicy.Replace), big));
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReadErrorAsync()).Code);

        // A header length pointing past the payload is a framing error: the connection closes.
        var broken = Put(11, new PutRequest("/bad/broken", data.Length, sha, OverwritePolicy.Replace), data);
        BinaryPrimitives.WriteUInt32BigEndian(broken.AsSpan(SxpLimits.HeaderSize), 1_000_000);
        await raw.SendBytesAsync(broken);
        Assert.Equal(ErrorCode.BadFrame, (await raw.ReadErrorAsync()).Code);
        Assert.True(await raw.IsClosedAsync());

        Assert.Equal(0L, _server.Scalar("SELECT count(*) FROM files WHERE path LIKE '/bad/%' OR path = '/escape'"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataDir, "staging")));
    }

    [Fact]
    public async Task A_put_before_authentication_is_refused_and_closes_the_connection()
    {
        await using var raw = await RawSxp.ConnectAsync(_server);
        await raw.SendAsync(FrameType.Hello, 1, new HelloRequest(1, "raw"), SxpJsonContext.Default.HelloRequest);
        Assert.Equal(FrameType.HelloOk, (await raw.ReadAsync()).Header.Type);
        var data = new byte[10];
        await raw.SendBytesAsync(Put(3, new PutRequest("/early", 10, HashText.ToHex(SHA256.HashData(data)), OverwritePolicy.Replace), data));
        Assert.Equal(ErrorCode.AuthRequired, (await raw.ReadErrorAsync()).Code);
        Assert.True(await raw.IsClosedAsync());
        Assert.Equal(0L, _server.Scalar("SELECT count(*) FROM files"));
    }

    private static byte[] Put(uint stream, PutRequest request, byte[] data)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WritePut(buffer, stream, request, data);
        return buffer.WrittenSpan.ToArray();
    }
}
