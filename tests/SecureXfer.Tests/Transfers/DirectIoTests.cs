using System.Globalization;
using System.Runtime.InteropServices;
using SecureXfer.Shared.IO;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Transfers;

/// <summary>Staged uploads are written unbuffered where the file system allows it, and nothing changes for the bytes.</summary>
public sealed class DirectIoTests : IDisposable
{
    private readonly TempDir _local = new("sx-direct");

    public void Dispose() => _local.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_large_upload_is_staged_unbuffered_unless_turned_off(bool enabled)
    {
        var environment = new Dictionary<string, string> { ["SecureXfer__DirectIo"] = enabled ? "true" : "false" };
        await using var server = await ServerProcess.StartAsync(environment);
        var source = _local.Combine("slow.bin");
        var sha = TestFiles.WriteRandom(source, 24L << 20);
        await using var client = await server.ConnectAsync();

        var upload = client.UploadAsync(source, "/slow.bin", new TransferOptions { ChunkSize = 1 << 20, RateLimit = 8L << 20 }, null, CancellationToken.None);
        // Watched for the whole upload: the staged file may be open buffered for a moment (while it
        // is created) before its unbuffered handle is, so one look could catch only that moment.
        bool? direct = null;
        while (!upload.IsCompleted)
        {
            if (StagingFileIsDirect(server.ProcessId) is { } seen)
            {
                direct = (direct ?? false) || seen;
            }

            await Task.Delay(50);
        }

        var result = await upload;
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(sha, (await client.StatAsync("/slow.bin", CancellationToken.None)).Sha256);
        Assert.NotNull(direct);
        Assert.Equal(enabled && FileSystemTakesDirectIo(server.DataDir), direct);
    }

    [Fact]
    public async Task Many_lanes_with_small_chunks_arriving_out_of_order_store_the_right_bytes()
    {
        await using var server = await ServerProcess.StartAsync();
        var source = _local.Combine("lanes.bin");
        var sha = TestFiles.WriteRandom(source, (20L << 20) + 12_345);
        await using var client = await server.ConnectAsync();

        var up = await client.UploadAsync(source, "/lanes.bin", new TransferOptions { ChunkSize = 64 * 1024, Parallel = 8 }, null, CancellationToken.None);
        Assert.Equal(sha, up.Sha256);

        var back = _local.Combine("lanes.back");
        var down = await client.DownloadAsync("/lanes.bin", back, new TransferOptions { Parallel = 8 }, null, CancellationToken.None);
        Assert.Equal(sha, down.Sha256);
        Assert.Equal(sha, TestFiles.Sha256(back));
    }

    /// <summary>Whether the server has a staging file open with O_DIRECT; null while none is open.</summary>
    private static bool? StagingFileIsDirect(int pid)
    {
        var flag = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 ? 0x10000 : 0x4000;
        bool? found = null;
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue;
            }

            if (target is null || !target.EndsWith(".part", StringComparison.Ordinal))
            {
                continue;
            }

            var flagsLine = File.ReadLines($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}").FirstOrDefault(l => l.StartsWith("flags:", StringComparison.Ordinal));
            if (flagsLine is null)
            {
                continue;
            }

            var flags = Convert.ToInt32(flagsLine["flags:".Length..].Trim(), 8);
            found = (found ?? false) || (flags & flag) != 0;
        }

        return found;
    }

    private static bool FileSystemTakesDirectIo(string directory)
    {
        var probe = Path.Combine(directory, "probe-" + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture));
        try
        {
            using var handle = File.OpenHandle(probe, FileMode.CreateNew, FileAccess.ReadWrite);
            using var direct = DirectIo.TryReopen(handle, writable: true);
            return direct is not null;
        }
        finally
        {
            File.Delete(probe);
        }
    }
}
