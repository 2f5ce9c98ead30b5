using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Endpoints.Sftp;
using SecureXfer.Shared.Sync;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Interop;

/// <summary>A real OpenSSH sshd (internal-sftp) on loopback, for the SFTP tests.</summary>
public sealed class SshPeer : IAsyncLifetime
{
    public OpenSshServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await OpenSshServer.StartAsync(testAccount: true);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The SFTP adapter (libssh) against OpenSSH: operations, times, resume, host keys and credentials.</summary>
public sealed class SftpEndpointTests(SshPeer peer) : IClassFixture<SshPeer>
{
    private SftpSettings Pinned => new("127.0.0.1", peer.Server.Port, TestAccount.User) { Password = TestAccount.Password, HostKey = peer.Server.HostKeyFingerprint };

    [Fact]
    public async Task Files_go_up_and_down_with_their_times_and_every_operation_works()
    {
        using var local = new TempDir("sx-sftp");
        await using var sftp = new SftpEndpoint(Pinned);
        var root = await TestAccount.NewDirectoryAsync();
        var past = new DateTime(2022, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        var small = local.Combine("small.txt");
        File.WriteAllText(small, "hello over sftp");
        File.SetLastWriteTimeUtc(small, past);
        var large = local.Combine("large.bin");
        var sha = TestFiles.WriteRandom(large, 9L << 20);

        // Relative paths are under the home directory; absolute ones are absolute.
        await sftp.MkdirAsync(root + "/a/b", CancellationToken.None);
        await sftp.UploadAsync(small, root + "/a/small.txt", replace: false, null, CancellationToken.None);
        await sftp.UploadAsync(large, Path.Combine(TestAccount.Home, root, "a", "b", "large.bin"), replace: false, null, CancellationToken.None);
        var onDisk = Path.Combine(TestAccount.Home, root);
        Assert.Equal(past, File.GetLastWriteTimeUtc(Path.Combine(onDisk, "a", "small.txt")));
        Assert.Equal(sha, TestFiles.Sha256(Path.Combine(onDisk, "a", "b", "large.bin")));
        Assert.Empty(Directory.GetFiles(onDisk, SyncEngine.StagingPrefix + "*", SearchOption.AllDirectories));

        var listed = await sftp.ListAsync(root + "/a", CancellationToken.None);
        Assert.Equal(["b:Directory", "small.txt:File"], listed.Select(e => $"{e.Name}:{e.Kind}").Order(StringComparer.Ordinal));
        var stat = await sftp.StatAsync(root + "/a/small.txt", CancellationToken.None);
        Assert.Equal((15L, past), (stat!.Size, stat.Modified.UtcDateTime));
        Assert.Null(await sftp.StatAsync(root + "/nothing-here", CancellationToken.None));
        await Assert.ThrowsAsync<SftpException>(() => sftp.UploadAsync(small, root + "/a/b/large.bin", replace: false, null, CancellationToken.None));

        // Replacing is atomic (posix-rename) and leaves nothing behind.
        File.WriteAllText(small, "a newer version");
        await sftp.UploadAsync(small, root + "/a/small.txt", replace: true, null, CancellationToken.None);
        Assert.Equal("a newer version", File.ReadAllText(Path.Combine(onDisk, "a", "small.txt")));
        Assert.Empty(Directory.GetFiles(onDisk, "*sxfer*", SearchOption.AllDirectories));
        File.WriteAllText(small, "hello over sftp");
        File.SetLastWriteTimeUtc(small, past);
        await sftp.UploadAsync(small, root + "/a/small.txt", replace: true, null, CancellationToken.None);

        var copy = local.Combine("copy.bin");
        var fetched = await sftp.DownloadAsync(root + "/a/b/large.bin", copy, replace: false, null, CancellationToken.None);
        Assert.Equal(9L << 20, fetched.Bytes);
        Assert.Equal(sha, TestFiles.Sha256(copy));
        Assert.Equal(File.GetLastWriteTimeUtc(Path.Combine(onDisk, "a", "b", "large.bin")), File.GetLastWriteTimeUtc(copy));

        await sftp.SetModifiedAsync(root + "/a/b/large.bin", new DateTimeOffset(past), CancellationToken.None);
        Assert.Equal(past, File.GetLastWriteTimeUtc(Path.Combine(onDisk, "a", "b", "large.bin")));
        await sftp.RenameAsync(root + "/a/small.txt", root + "/a/renamed.txt", CancellationToken.None);
        await Assert.ThrowsAsync<SftpException>(() => sftp.RenameAsync(root + "/a/renamed.txt", root + "/a/b/large.bin", CancellationToken.None));
        await sftp.DeleteAsync(root + "/a/renamed.txt", CancellationToken.None);
        await sftp.DeleteAsync(root + "/a/b/large.bin", CancellationToken.None);
        await sftp.DeleteAsync(root + "/a/b", CancellationToken.None);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(onDisk, "a")));
    }

    [Fact]
    public async Task An_interrupted_upload_and_download_resume()
    {
        await using var sftp = new SftpEndpoint(Pinned);
        var root = await TestAccount.NewDirectoryAsync();
        await EndpointChecks.InterruptedTransfersResumeAsync(sftp, root, Path.Combine(TestAccount.Home, root));
    }

    [Fact]
    public async Task Keys_with_and_without_passphrase_and_known_hosts_files_work()
    {
        var root = await TestAccount.NewDirectoryAsync();
        await using (var byKey = new SftpEndpoint(new SftpSettings("127.0.0.1", peer.Server.Port, TestAccount.User) { IdentityFile = peer.Server.ClientKey, KnownHosts = peer.Server.KnownHostsFile }))
        {
            Assert.NotNull(await byKey.StatAsync(root, CancellationToken.None));
        }

        await using (var byProtectedKey = new SftpEndpoint(new SftpSettings("127.0.0.1", peer.Server.Port, TestAccount.User) { IdentityFile = peer.Server.ProtectedKey, Password = OpenSshServer.KeyPassphrase, HostKey = peer.Server.HostKeyFingerprint }))
        {
            Assert.NotNull(await byProtectedKey.StatAsync(root, CancellationToken.None));
        }

        await using var wrongPassphrase = new SftpEndpoint(new SftpSettings("127.0.0.1", peer.Server.Port, TestAccount.User) { IdentityFile = peer.Server.ProtectedKey, Password = "nope", HostKey = peer.Server.HostKeyFingerprint });
        var refused = await Assert.ThrowsAsync<SftpException>(() => wrongPassphrase.StatAsync(root, CancellationToken.None));
        Assert.Contains("passphrase", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_or_wrong_host_keys_and_wrong_passwords_are_refused_before_anything_is_sent()
    {
        await using (var unpinned = new SftpEndpoint(Pinned with { HostKey = null }))
        {
            var unknown = await Assert.ThrowsAsync<UnknownHostKeyException>(() => unpinned.ListAsync(string.Empty, CancellationToken.None));
            Assert.Equal(peer.Server.HostKeyFingerprint, unknown.Fingerprint);
            Assert.Contains(peer.Server.HostKeyFingerprint, unknown.Message, StringComparison.Ordinal);
        }

        await using (var wrongPin = new SftpEndpoint(Pinned with { HostKey = "SHA256:" + Convert.ToBase64String(new byte[32]).TrimEnd('=') }))
        {
            await Assert.ThrowsAsync<UnknownHostKeyException>(() => wrongPin.ListAsync(string.Empty, CancellationToken.None));
        }

        using var other = new TempDir("sx-kh");
        File.WriteAllText(other.Combine("known_hosts"), $"[127.0.0.1]:{peer.Server.Port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n");
        await using (var changed = new SftpEndpoint(Pinned with { HostKey = null, KnownHosts = other.Combine("known_hosts") }))
        {
            var error = await Assert.ThrowsAsync<UnknownHostKeyException>(() => changed.ListAsync(string.Empty, CancellationToken.None));
            Assert.Contains("changed", error.Message, StringComparison.Ordinal);
        }

        await using var wrongPassword = new SftpEndpoint(Pinned with { Password = "not-the-password" });
        var refused = await Assert.ThrowsAsync<SftpException>(() => wrongPassword.ListAsync(string.Empty, CancellationToken.None));
        Assert.Equal(530, refused.Status);
    }

    [Fact]
    public async Task A_sync_to_sftp_and_back_then_copies_nothing()
    {
        using var local = new TempDir("sx-sftp");
        var source = local.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "deep", "er"));
        Directory.CreateDirectory(Path.Combine(source, "empty"));
        File.WriteAllText(Path.Combine(source, "a.txt"), "a");
        File.WriteAllText(Path.Combine(source, "deep", "er", "ünï.txt"), "unicode");
        TestFiles.WriteRandom(Path.Combine(source, "deep", "big.bin"), 3L << 20);
        var root = await TestAccount.NewDirectoryAsync();

        await using var sftp = new SftpEndpoint(Pinned);
        var disk = new LocalEndpoint("/");
        SyncEngine Up() => new(new SyncSide(disk, source.TrimStart('/')), new SyncSide(sftp, root + "/mirror"), new SyncOptions { Delete = true }, NoObserver.Instance);
        var up = await Up().RunAsync(CancellationToken.None);
        Assert.Empty(up.Errors);
        Assert.Equal(3, up.Copied);
        var again = await Up().RunAsync(CancellationToken.None);
        Assert.Equal((0, 0, 0, 3), (again.Copied, again.Updated, again.Deleted, again.Unchanged));
        Assert.True(Directory.Exists(Path.Combine(TestAccount.Home, root, "mirror", "empty")));

        File.Delete(Path.Combine(source, "a.txt"));
        File.WriteAllText(Path.Combine(source, "deep", "er", "ünï.txt"), "changed");
        File.SetLastWriteTimeUtc(Path.Combine(source, "deep", "er", "ünï.txt"), DateTime.UtcNow.AddMinutes(1));
        var pruned = await Up().RunAsync(CancellationToken.None);
        Assert.Equal((1, 1), (pruned.Deleted, pruned.Updated));
        Assert.Equal("changed", File.ReadAllText(Path.Combine(TestAccount.Home, root, "mirror", "deep", "er", "ünï.txt")));

        var back = local.Combine("back");
        SyncEngine Down() => new(new SyncSide(sftp, root + "/mirror"), new SyncSide(disk, back.TrimStart('/')), new SyncOptions(), NoObserver.Instance);
        Assert.Equal(2, (await Down().RunAsync(CancellationToken.None)).Copied);
        Assert.Equal("changed", File.ReadAllText(Path.Combine(back, "deep", "er", "ünï.txt")));
        Assert.Equal(0, (await Down().RunAsync(CancellationToken.None)).Copied);
    }
}
