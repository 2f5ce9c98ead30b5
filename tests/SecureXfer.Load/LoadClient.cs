using System.Diagnostics;
using System.Security.Cryptography;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Load;

/// <summary>
/// One simulated user session: loops over a weighted mix of operations in its own directory
/// while a phase lasts, keeping its connection and what it stored from one phase to the next;
/// <see cref="Stored"/> is every file with the hash it must have.
/// </summary>
internal sealed class LoadClient(ServerProcess server, (string Name, string Password) user, string directory, string scratch, int seed) : IAsyncDisposable
{
    private const int SmallNames = 16;
    private const int MediumNames = 4;

    private readonly Dictionary<string, string> _stored = new(StringComparer.Ordinal);
    private readonly Random _random = new(seed + 1);
    private readonly string _directory = directory;
    private SxpClient? _client;

    public IReadOnlyList<ExpectedFile> Stored => _stored.Select(p => new ExpectedFile(user.Name, p.Key, p.Value)).ToList();

    /// <summary>Runs operations until <paramref name="stop"/>, counting them in <paramref name="stats"/>.</summary>
    public async Task RunAsync(Func<string, OperationStats> stats, CancellationToken stop)
    {
        Directory.CreateDirectory(scratch);
        while (!stop.IsCancellationRequested)
        {
            if (_client is null)
            {
                // The first operation of a session, or the one after a failed login: log in.
                await TimedAsync(stats, "login", async () => { await ReconnectAsync(); return 0; });
                continue;
            }

            var roll = _random.Next(100);
            var (name, operation) = roll switch
            {
                < 40 => ("put", (Func<Task<long>>)PutAsync),
                < 50 => ("upload", UploadAsync),
                < 76 => ("download", DownloadAsync),
                < 91 => ("list", ListAsync),
                < 98 => ("stat", StatAsync),

                // A fresh password login (bcrypt on the server) and a new connection: what a client does now and then.
                _ => ("login", async () => { await ReconnectAsync(); return 0; }),
            };
            await TimedAsync(stats, name, operation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (Directory.Exists(scratch))
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Times one operation. Operations are never cancelled: the run ends between them, so every one counts.</summary>
    private static async Task TimedAsync(Func<string, OperationStats> stats, string name, Func<Task<long>> operation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var bytes = await operation();
            stats(name).Ok(Stopwatch.GetElapsedTime(started), bytes);
        }
        catch (Exception ex)
        {
            stats(name).Failed(ex);
        }
    }

    private async Task ReconnectAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
            _client = null;
        }

        _client = await server.ConnectAsync(user.Name, user.Password);
    }

    private SxpClient Client => _client ?? throw new InvalidOperationException("Not connected.");

    private (string Local, string Sha256) MakeFile(int size)
    {
        var bytes = new byte[size];
        _random.NextBytes(bytes);
        var local = Path.Combine(scratch, "out.bin");
        File.WriteAllBytes(local, bytes);
        return (local, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private async Task<long> PutAsync()
    {
        var size = 1 + _random.Next(64 * 1024);
        var (local, sha) = MakeFile(size);
        var remote = $"{_directory}/s{_random.Next(SmallNames)}.bin";
        await StoreAsync(remote, () => Client.PutAsync(local, remote, OverwritePolicy.Replace, CancellationToken.None), sha);
        return size;
    }

    private async Task<long> UploadAsync()
    {
        var size = (1 << 20) + _random.Next(3 << 20);
        var (local, sha) = MakeFile(size);
        var remote = $"{_directory}/m{_random.Next(MediumNames)}.bin";
        await StoreAsync(remote, () => Client.UploadAsync(local, remote, new TransferOptions { ChunkSize = 256 * 1024 }, null, CancellationToken.None), sha);
        return size;
    }

    /// <summary>A write whose outcome is unknown (it failed) leaves its path out of the final check; the failure is counted.</summary>
    private async Task StoreAsync(string remote, Func<Task<TransferResult>> store, string sha)
    {
        _stored.Remove(remote);
        var result = await store();
        if (result.Sha256 != sha)
        {
            throw new InvalidDataException($"{remote}: the server stored {result.Sha256}, the client sent {sha}.");
        }

        _stored[remote] = sha;
    }

    private async Task<long> DownloadAsync()
    {
        if (_stored.Count == 0)
        {
            return await PutAsync();
        }

        var (remote, sha) = _stored.ElementAt(_random.Next(_stored.Count));
        var local = Path.Combine(scratch, "in.bin");
        var result = await Client.DownloadAsync(remote, local, new TransferOptions(), null, CancellationToken.None);
        await using (var stream = File.OpenRead(local))
        {
            var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
            if (actual != sha || result.Sha256 != sha)
            {
                throw new InvalidDataException($"{remote}: downloaded {actual} (server said {result.Sha256}), expected {sha}.");
            }
        }

        return result.Bytes;
    }

    private async Task<long> ListAsync()
    {
        var entries = await Client.ListAsync(_stored.Count == 0 ? "/" : _directory, CancellationToken.None);
        if (_stored.Count > 0 && entries.Count < _stored.Count)
        {
            throw new InvalidDataException($"{_directory} lists {entries.Count} entries; {_stored.Count} were stored.");
        }

        return 0;
    }

    private async Task<long> StatAsync()
    {
        if (_stored.Count == 0)
        {
            await Client.StatAsync("/", CancellationToken.None);
            return 0;
        }

        var (remote, sha) = _stored.ElementAt(_random.Next(_stored.Count));
        var entry = await Client.StatAsync(remote, CancellationToken.None);
        if (entry.Sha256 != sha)
        {
            throw new InvalidDataException($"{remote}: stat says {entry.Sha256}, expected {sha}.");
        }

        return 0;
    }
}
