using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Security;

/// <summary>
/// Someone with access to the storage (another process on the host) keeps swapping a
/// directory in the attacker's root with a symbolic link to the victim's directory, as fast as
/// it can, while the attacker reads, lists, stats and writes through that directory. However
/// the race falls, nothing of the victim's is read or listed and nothing is written there:
/// paths are resolved by the kernel without following links, once, and used through the handle.
/// </summary>
public sealed class SymlinkSwapTests : IAsyncLifetime
{
    private const string VictimBytes = "victim-secret-content";
    private ServerProcess _server = null!;
    private readonly TempDir _local = new("sx-swap");

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _local.Dispose();
    }

    [Fact]
    public async Task A_link_swapped_in_between_check_and_use_is_never_followed()
    {
        var attacker = await _server.AddUserAsync("swapper", "swapper-password");
        var victim = await _server.AddUserAsync("swapped", "swapped-password");
        var victimDir = Path.Combine(_server.UserRoot(victim), "secret");
        Directory.CreateDirectory(victimDir);
        await File.WriteAllTextAsync(Path.Combine(victimDir, "data.txt"), VictimBytes);
        await File.WriteAllTextAsync(Path.Combine(victimDir, "own.txt"), VictimBytes);

        var own = _local.Combine("own.txt");
        await File.WriteAllTextAsync(own, "attacker-own");
        await using var client = await _server.ConnectAsync("swapper", "swapper-password");
        await client.PutAsync(own, "/d/own.txt", OverwritePolicy.Replace, CancellationToken.None);

        var root = _server.UserRoot(attacker);
        var real = Path.Combine(root, "d");
        var parked = Path.Combine(root, "d.real");
        using var stop = new CancellationTokenSource();
        var swaps = 0;
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Directory.Move(real, parked);
                }
                catch (IOException)
                {
                    continue;
                }

                try
                {
                    File.CreateSymbolicLink(real, victimDir);
                    swaps++;
                }
                catch (IOException)
                {
                    // The server recreated the directory in the gap (an upload into it): fine.
                }

                if (new FileInfo(real).LinkTarget is not null)
                {
                    File.Delete(real);
                }

                try
                {
                    Directory.Move(parked, real);
                }
                catch (IOException)
                {
                    Directory.Delete(parked, recursive: true);
                }
            }
        });

        var copy = _local.Combine("copy.txt");
        var leaks = new List<string>();
        var operations = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(8))
        {
            operations++;
            await Try(async () =>
            {
                await client.DownloadAsync("/d/own.txt", copy, new TransferOptions(), null, CancellationToken.None);
                if (await File.ReadAllTextAsync(copy) != "attacker-own")
                {
                    leaks.Add("downloaded the victim's own.txt");
                }
            });
            await Try(async () =>
            {
                await client.DownloadAsync("/d/data.txt", copy, new TransferOptions(), null, CancellationToken.None);
                leaks.Add("downloaded the victim's data.txt");
            });
            await Try(async () =>
            {
                if ((await client.ListAsync("/d", CancellationToken.None)).Any(e => e.Name == "data.txt"))
                {
                    leaks.Add("listed the victim's directory");
                }
            });
            await Try(async () =>
            {
                await client.StatAsync("/d/data.txt", CancellationToken.None);
                leaks.Add("stat of the victim's data.txt");
            });
            await Try(() => client.PutAsync(own, $"/d/new-{operations}.txt", OverwritePolicy.Replace, CancellationToken.None));
            await Try(() => client.SetModifiedAsync("/d/own.txt", DateTimeOffset.UnixEpoch, CancellationToken.None));
        }

        await stop.CancelAsync();
        await swapper;

        Assert.True(swaps > 100, $"only {swaps} swaps");
        Assert.True(leaks.Count == 0, string.Join('\n', leaks.Distinct()) + $"\n({operations} rounds, {swaps} swaps)");
        Assert.Equal(["data.txt", "own.txt"], Directory.EnumerateFileSystemEntries(victimDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(VictimBytes, await File.ReadAllTextAsync(Path.Combine(victimDir, "own.txt")));
        Assert.NotEqual(DateTime.UnixEpoch, File.GetLastWriteTimeUtc(Path.Combine(victimDir, "own.txt")));
    }

    [Fact]
    public async Task A_recursive_remove_never_deletes_through_a_swapped_in_link()
    {
        var attacker = await _server.AddUserAsync("remover", "remover-password");
        var victim = await _server.AddUserAsync("kept", "kept-password");
        var victimDir = Path.Combine(_server.UserRoot(victim), "precious");
        Directory.CreateDirectory(Path.Combine(victimDir, "inner"));
        await File.WriteAllTextAsync(Path.Combine(victimDir, "a.txt"), VictimBytes);
        await File.WriteAllTextAsync(Path.Combine(victimDir, "inner", "b.txt"), VictimBytes);

        var own = _local.Combine("own.txt");
        await File.WriteAllTextAsync(own, "attacker-own");
        await using var client = await _server.ConnectAsync("remover", "remover-password");
        var sub = Path.Combine(_server.UserRoot(attacker), "t", "sub");
        using var stop = new CancellationTokenSource();
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // Whenever the attacker's t/sub is a directory, make it a link to the victim's directory, and back.
                    if (Directory.Exists(sub) && new FileInfo(sub).LinkTarget is null)
                    {
                        Directory.Move(sub, sub + ".parked");
                        File.CreateSymbolicLink(sub, victimDir);
                        Thread.Yield();
                        File.Delete(sub);
                        Directory.Move(sub + ".parked", sub);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The server removed or created something in between: try again.
                }
            }
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(6))
        {
            await Try(() => client.PutAsync(own, "/t/sub/x/y.txt", OverwritePolicy.Replace, CancellationToken.None));
            await Try(() => client.PutAsync(own, "/t/sub/z.txt", OverwritePolicy.Replace, CancellationToken.None));
            await Try(() => client.RemoveAsync("/t", recursive: true, CancellationToken.None));
        }

        await stop.CancelAsync();
        await swapper;
        Assert.Equal(VictimBytes, await File.ReadAllTextAsync(Path.Combine(victimDir, "a.txt")));
        Assert.Equal(VictimBytes, await File.ReadAllTextAsync(Path.Combine(victimDir, "inner", "b.txt")));
        Assert.Equal(["a.txt", "inner"], Directory.EnumerateFileSystemEntries(victimDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>Refusals and not-found answers are expected while the link is in place; anything else is not.</summary>
    private static async Task Try(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (SxpException ex) when (ex.Code is ErrorCode.InvalidPath or ErrorCode.NotFound or ErrorCode.Conflict)
        {
        }
    }
}
