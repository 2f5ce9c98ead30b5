using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Endpoints.Ftp;
using SecureXfer.Shared.Security;
using SecureXfer.Shared.Sync;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Interop;

/// <summary>The FTP adapter against a real vsftpd, plain and with explicit FTPS requiring TLS session reuse.</summary>
public sealed class FtpEndpointTests : IAsyncLifetime
{
    private VsftpdServer _plain = null!;
    private VsftpdServer _secure = null!;
    private VsftpdServer _implicit = null!;

    public async Task InitializeAsync()
    {
        _plain = await VsftpdServer.StartAsync(tls: false);
        _secure = await VsftpdServer.StartAsync(tls: true);
        _implicit = await VsftpdServer.StartAsync(tls: true, implicitTls: true);
    }

    public async Task DisposeAsync()
    {
        await _plain.DisposeAsync();
        await _secure.DisposeAsync();
        await _implicit.DisposeAsync();
    }

    private FtpSettings Implicit => new("127.0.0.1", _implicit.Port, VsftpdServer.User, VsftpdServer.Password, FtpSecurity.Implicit, ServerTrust.FromCaFile(_implicit.CertificatePath))
    {
        TlsName = "localhost",
    };

    private FtpSettings For(string mode) => mode switch
    {
        "plain" => Plain,
        "implicit" => Implicit,
        _ => Secure,
    };

    private FtpSettings Plain => new("127.0.0.1", _plain.Port, VsftpdServer.User, VsftpdServer.Password, FtpSecurity.None, ServerTrust.System);

    private FtpSettings Secure => new("127.0.0.1", _secure.Port, VsftpdServer.User, VsftpdServer.Password, FtpSecurity.Explicit, ServerTrust.FromCaFile(_secure.CertificatePath))
    {
        TlsName = "localhost",
    };

    [Theory]
    [InlineData("plain")]
    [InlineData("explicit")]
    [InlineData("implicit")]
    public async Task Files_go_up_and_down_with_their_times_and_every_operation_works(string mode)
    {
        using var local = new TempDir("sx-ftp");
        await using var ftp = new FtpEndpoint(For(mode));
        var root = await VsftpdServer.NewDirectoryAsync();
        var past = new DateTime(2022, 5, 6, 7, 8, 9, DateTimeKind.Utc);

        var small = local.Combine("small.txt");
        File.WriteAllText(small, "hello over ftp");
        File.SetLastWriteTimeUtc(small, past);
        var large = local.Combine("large.bin");
        var sha = TestFiles.WriteRandom(large, 5L << 20);

        await ftp.MkdirAsync(root + "/a/b", CancellationToken.None);
        await ftp.UploadAsync(small, root + "/a/small.txt", replace: false, null, CancellationToken.None);
        var sent = await ftp.UploadAsync(large, root + "/a/b/large.bin", replace: false, null, CancellationToken.None);
        Assert.Equal(5L << 20, sent.Bytes);

        var onDisk = Path.Combine(VsftpdServer.Home, root);
        Assert.Equal("hello over ftp", File.ReadAllText(Path.Combine(onDisk, "a", "small.txt")));
        Assert.Equal(past, File.GetLastWriteTimeUtc(Path.Combine(onDisk, "a", "small.txt")));
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(onDisk, "a", "b", "large.bin")));
        Assert.Empty(Directory.GetFiles(onDisk, SyncEngine.StagingPrefix + "*", SearchOption.AllDirectories));

        var listed = await ftp.ListAsync(root + "/a", CancellationToken.None);
        Assert.Equal(["b:Directory", "small.txt:File"], listed.Select(e => $"{e.Name}:{e.Kind}").Order(StringComparer.Ordinal));
        var stat = await ftp.StatAsync(root + "/a/small.txt", CancellationToken.None);
        Assert.Equal((14L, past), (stat!.Size, stat.Modified.UtcDateTime));
        Assert.Null(await ftp.StatAsync(root + "/a/missing.txt", CancellationToken.None));

        // A new file does not replace one that is there; a replacement does.
        await Assert.ThrowsAsync<FtpException>(() => ftp.UploadAsync(small, root + "/a/b/large.bin", replace: false, null, CancellationToken.None));
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(onDisk, "a", "b", "large.bin")));
        File.WriteAllText(small, "a newer version");
        await ftp.UploadAsync(small, root + "/a/small.txt", replace: true, null, CancellationToken.None);
        Assert.Equal("a newer version", File.ReadAllText(Path.Combine(onDisk, "a", "small.txt")));
        File.WriteAllText(small, "hello over ftp");
        File.SetLastWriteTimeUtc(small, past);
        await ftp.UploadAsync(small, root + "/a/small.txt", replace: true, null, CancellationToken.None);

        var copy = local.Combine("copy.bin");
        await ftp.DownloadAsync(root + "/a/b/large.bin", copy, replace: false, null, CancellationToken.None);
        Assert.Equal(sha, TestFiles.Sha256(copy));
        Assert.Equal((await ftp.StatAsync(root + "/a/b/large.bin", CancellationToken.None))!.Modified.UtcDateTime, File.GetLastWriteTimeUtc(copy));

        await ftp.SetModifiedAsync(root + "/a/b/large.bin", new DateTimeOffset(past), CancellationToken.None);
        Assert.Equal(past, File.GetLastWriteTimeUtc(Path.Combine(onDisk, "a", "b", "large.bin")));
        await ftp.RenameAsync(root + "/a/small.txt", root + "/a/renamed.txt", CancellationToken.None);
        await Assert.ThrowsAsync<FtpException>(() => ftp.RenameAsync(root + "/a/renamed.txt", root + "/a/b/large.bin", CancellationToken.None));
        await ftp.DeleteAsync(root + "/a/renamed.txt", CancellationToken.None);
        await ftp.DeleteAsync(root + "/a/b/large.bin", CancellationToken.None);
        await ftp.DeleteAsync(root + "/a/b", CancellationToken.None);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(onDisk, "a")));
    }

    [Fact]
    public async Task An_interrupted_upload_and_download_resume()
    {
        await using var ftp = new FtpEndpoint(Secure);
        var root = await VsftpdServer.NewDirectoryAsync();
        await EndpointChecks.InterruptedTransfersResumeAsync(ftp, root, Path.Combine(VsftpdServer.Home, root));
    }

    [Fact]
    public async Task Refusals_are_clear()
    {
        var wrong = new FtpEndpoint(Plain with { Password = "not-the-password" });
        await using (wrong)
        {
            var refused = await Assert.ThrowsAsync<FtpException>(() => wrong.ListAsync(string.Empty, CancellationToken.None));
            Assert.True(refused.Message.Contains("refused the login", StringComparison.Ordinal), refused.Message);
        }

        var untrusted = new FtpEndpoint(Secure with { Trust = ServerTrust.System });
        await using (untrusted)
        {
            var error = await Assert.ThrowsAsync<UntrustedServerException>(() => untrusted.ListAsync(string.Empty, CancellationToken.None));
            Assert.StartsWith("SHA256:", error.Fingerprint, StringComparison.Ordinal);
        }

        // Addressed by IP, the data connection's TLS session is not resumed and vsftpd refuses it: the message says what to do.
        var byAddress = new FtpEndpoint(Secure with { TlsName = null, Trust = new ServerTrust(CertificateFingerprint.Of(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(_secure.CertificatePath))) });
        await using (byAddress)
        {
            var error = await Assert.ThrowsAsync<FtpException>(() => byAddress.ListAsync(string.Empty, CancellationToken.None));
            Assert.True(error.Message.Contains("--tls-name", StringComparison.Ordinal), error.Message);
        }
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("explicit")]
    public async Task A_sync_to_ftp_and_back_then_copies_nothing(string mode)
    {
        using var local = new TempDir("sx-ftp");
        var source = local.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "deep", "er"));
        Directory.CreateDirectory(Path.Combine(source, "empty"));
        File.WriteAllText(Path.Combine(source, "a.txt"), "a");
        File.WriteAllText(Path.Combine(source, "deep", "er", "ünï.txt"), "unicode");
        TestFiles.WriteRandom(Path.Combine(source, "deep", "big.bin"), 3L << 20);
        var root = await VsftpdServer.NewDirectoryAsync();

        await using var ftp = new FtpEndpoint(For(mode));
        var disk = new LocalEndpoint("/");
        var up = await new SyncEngine(new SyncSide(disk, source.TrimStart('/')), new SyncSide(ftp, root + "/mirror"), new SyncOptions(), NoObserver.Instance).RunAsync(CancellationToken.None);
        Assert.Empty(up.Errors);
        Assert.Equal(3, up.Copied);
        var again = await new SyncEngine(new SyncSide(disk, source.TrimStart('/')), new SyncSide(ftp, root + "/mirror"), new SyncOptions(), NoObserver.Instance).RunAsync(CancellationToken.None);
        Assert.Equal((0, 0, 3), (again.Copied, again.Updated, again.Unchanged));
        File.WriteAllText(Path.Combine(source, "a.txt"), "b");
        File.SetLastWriteTimeUtc(Path.Combine(source, "a.txt"), DateTime.UtcNow.AddMinutes(1));
        var changed = await new SyncEngine(new SyncSide(disk, source.TrimStart('/')), new SyncSide(ftp, root + "/mirror"), new SyncOptions(), NoObserver.Instance).RunAsync(CancellationToken.None);
        Assert.Equal((0, 1), (changed.Copied, changed.Updated));
        Assert.Equal("b", File.ReadAllText(Path.Combine(VsftpdServer.Home, root, "mirror", "a.txt")));
        Assert.True(Directory.Exists(Path.Combine(VsftpdServer.Home, root, "mirror", "empty")));

        var back = local.Combine("back");
        var down = await new SyncEngine(new SyncSide(ftp, root + "/mirror"), new SyncSide(disk, back.TrimStart('/')), new SyncOptions(), NoObserver.Instance).RunAsync(CancellationToken.None);
        Assert.Empty(down.Errors);
        Assert.Equal(3, down.Copied);
        Assert.Equal("unicode", File.ReadAllText(Path.Combine(back, "deep", "er", "ünï.txt")));
        var noop = await new SyncEngine(new SyncSide(ftp, root + "/mirror"), new SyncSide(disk, back.TrimStart('/')), new SyncOptions(), NoObserver.Instance).RunAsync(CancellationToken.None);
        Assert.Equal((0, 0, 3), (noop.Copied, noop.Updated, noop.Unchanged));
    }
}
