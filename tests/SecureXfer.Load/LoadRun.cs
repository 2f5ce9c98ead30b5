using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Load;

public sealed record LoadSettings(int Clients, TimeSpan Duration, int Users, TimeSpan Settle)
{
    /// <summary>Hard bounds, so a typo cannot turn a soak into a denial of service of the machine.</summary>
    public const int MaxClients = 1000;

    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(2);
}

/// <summary>Server process figures from /proc: resident memory and open file descriptors.</summary>
public sealed record ServerSample(long RssBytes, long ManagedHeapBytes, int Handles, int Threads, IReadOnlyDictionary<string, int> HandleKinds)
{
    /// <summary>The GC heap after its last collection by generation (gen0, gen1, gen2, loh, poh): pinned pools show in poh, large buffers in loh, retained objects in gen2.</summary>
    public IReadOnlyDictionary<string, long> HeapByGeneration { get; init; } = new Dictionary<string, long>();

    /// <summary>Process figures from /proc, and the GC heap after its last collection from the server's own /metrics.</summary>
    public static async Task<ServerSample> OfAsync(ServerProcess server)
    {
        using var http = server.CreateHttpClient();
        var metrics = await http.GetStringAsync("/metrics");
        var generations = metrics.Split('\n')
            .Where(l => l.StartsWith("dotnet_gc_last_collection_heap_size_bytes", StringComparison.Ordinal))
            .GroupBy(l => l.Split('"') is { Length: >= 2 } quoted ? quoted[1] : "all", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (long)g.Sum(l => double.Parse(l.Split(' ')[^1], CultureInfo.InvariantCulture)), StringComparer.Ordinal);
        return Of(server.ProcessId) with { ManagedHeapBytes = generations.Values.Sum(), HeapByGeneration = generations };
    }

    private static ServerSample Of(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        long Field(string name) => long.Parse(status.First(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        var kinds = Directory.GetFiles($"/proc/{pid}/fd")
            .Select(fd => Kind(new FileInfo(fd).LinkTarget))
            .GroupBy(k => k, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new ServerSample(Field("VmRSS") * 1024, 0, kinds.Values.Sum(), (int)Field("Threads"), kinds);
    }

    /// <summary>What a descriptor is: socket, pipe, an anonymous inode kind, or a file by name (numbers stripped, so one kind groups).</summary>
    private static string Kind(string? target) => target switch
    {
        null => "gone",
        _ when target.StartsWith("socket:", StringComparison.Ordinal) => "socket",
        _ when target.StartsWith("pipe:", StringComparison.Ordinal) => "pipe",
        _ when target.StartsWith("anon_inode:", StringComparison.Ordinal) => target,
        _ => Path.GetFileName(target),
    };
}

/// <summary>Latencies of one kind of operation, and its failures.</summary>
public sealed class OperationStats
{
    private readonly ConcurrentBag<double> _milliseconds = [];
    private long _errors;
    private long _bytes;

    public long Count => _milliseconds.Count;

    public long Errors => Interlocked.Read(ref _errors);

    public long Bytes => Interlocked.Read(ref _bytes);

    public ConcurrentQueue<string> FirstErrors { get; } = new();

    public void Ok(TimeSpan elapsed, long bytes)
    {
        _milliseconds.Add(elapsed.TotalMilliseconds);
        Interlocked.Add(ref _bytes, bytes);
    }

    public void Failed(Exception error)
    {
        Interlocked.Increment(ref _errors);
        if (FirstErrors.Count < 5)
        {
            var chain = new List<string>();
            for (Exception? e = error; e is not null; e = e.InnerException)
            {
                chain.Add(e.GetType().Name + ": " + e.Message);
            }

            FirstErrors.Enqueue(string.Join(" <- ", chain));
        }
    }

    public double Percentile(double p)
    {
        var sorted = _milliseconds.OrderBy(x => x).ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}

/// <summary>
/// The run's figures. The server is sampled after the warm-up, at half time and at the end, each
/// time after the same settling pause: growth that a leak would cause shows as a rise from the
/// half-time sample to the final one (the first half grows pools and heaps to the load, which a
/// garbage-collected server keeps; a leak keeps growing).
/// </summary>
public sealed record LoadReport(
    LoadSettings Settings,
    TimeSpan Elapsed,
    IReadOnlyDictionary<string, OperationStats> Operations,
    int FilesChecked,
    IReadOnlyList<string> BadFiles,
    ServerSample Start,
    ServerSample Half,
    ServerSample End,
    ServerSample Settled,
    ServerSample Disconnected)
{
    public long Errors => Operations.Values.Sum(o => o.Errors);

    /// <summary>No more open handles at the end than at half time, give or take a few the runtime opens lazily.</summary>
    public bool HandlesSettled => Settled.Handles <= Half.Handles + 8;

    /// <summary>
    /// The managed heap (after the GC's last collection: what the server's own objects hold) at the
    /// end within a tenth (plus 32 MiB) of half time. Resident memory is reported beside it; it also
    /// counts native memory (TLS, SQLite, the allocator's arenas) that is kept for reuse.
    /// </summary>
    public bool MemorySettled => Settled.ManagedHeapBytes <= Half.ManagedHeapBytes + (Half.ManagedHeapBytes / 10) + (32L << 20);

    /// <summary>Once every client has hung up, the server holds no more sockets than after the warm-up.</summary>
    public bool SocketsClosed => Disconnected.HandleKinds.GetValueOrDefault("socket") <= Start.HandleKinds.GetValueOrDefault("socket") + 8;

    public bool Passed => Errors == 0 && BadFiles.Count == 0 && HandlesSettled && MemorySettled && SocketsClosed;
}

/// <summary>
/// Drives N clients against one server: each loops over a mix of small PUTs, chunked uploads,
/// downloads checked against the hash it expects, listings, stats and fresh logins, in its own
/// directory (several clients share each user). Afterwards every file any client believes it
/// stored is read back from the server and its SHA-256 compared.
/// </summary>
public sealed class LoadRun(ServerProcess server, LoadSettings settings, string scratch)
{
    private readonly ConcurrentDictionary<string, OperationStats> _operations = new(StringComparer.Ordinal);

    private OperationStats Stats(string name) => _operations.GetOrAdd(name, _ => new OperationStats());

    public async Task<LoadReport> RunAsync()
    {
        var users = new List<(string Name, string Password)>();
        for (var u = 0; u < settings.Users; u++)
        {
            var name = $"load{u}";
            var password = $"load-password-{u}";
            await server.AddUserAsync(name, password);
            users.Add((name, password));
        }

        var clients = Enumerable.Range(0, settings.Clients)
            .Select(i => new LoadClient(server, users[i % users.Count], $"/c{i}", Path.Combine(scratch, "c" + i), i))
            .ToList();
        LoadReport report;
        try
        {
            // Warm-up: clients join one after another over the ramp (people do not all log in in
            // the same second), then all run together for a while. Not counted.
            var ramp = TimeSpan.FromSeconds(Math.Clamp(settings.Duration.TotalSeconds / 10, 2, 20));
            var warmUp = ramp + TimeSpan.FromSeconds(Math.Clamp(settings.Duration.TotalSeconds / 10, 2, 20));
            await PhaseAsync(clients, warmUp, _ => new OperationStats(), ramp);
            await Task.Delay(settings.Settle);
            var start = await ServerSample.OfAsync(server);

            var clock = Stopwatch.StartNew();
            await PhaseAsync(clients, settings.Duration / 2, Stats, TimeSpan.Zero);
            var paused = clock.Elapsed;
            await Task.Delay(settings.Settle);
            var half = await ServerSample.OfAsync(server);
            clock.Restart();
            await PhaseAsync(clients, settings.Duration / 2, Stats, TimeSpan.Zero);
            var elapsed = paused + clock.Elapsed;
            var end = await ServerSample.OfAsync(server);

            var expected = clients.SelectMany(c => c.Stored).ToList();
            var bad = await VerifyAsync(users, expected);
            await Task.Delay(settings.Settle);
            var settled = await ServerSample.OfAsync(server);
            report = new LoadReport(settings, elapsed, _operations.ToDictionary(p => p.Key, p => p.Value), expected.Count, bad, start, half, end, settled, settled);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        await Task.Delay(settings.Settle);
        return report with { Disconnected = await ServerSample.OfAsync(server) };
    }

    /// <summary>All clients run for <paramref name="duration"/>; client i starts i/N of <paramref name="ramp"/> late.</summary>
    private async Task PhaseAsync(List<LoadClient> clients, TimeSpan duration, Func<string, OperationStats> stats, TimeSpan ramp)
    {
        using var stop = new CancellationTokenSource(duration);
        await Task.WhenAll(clients.Select((client, i) => Task.Run(async () =>
        {
            await Task.Delay(ramp * i / clients.Count);
            await client.RunAsync(stats, stop.Token);
        })));
    }

    /// <summary>Every file a client stored, downloaded again and hashed; and the server's own record of its hash.</summary>
    private async Task<List<string>> VerifyAsync(List<(string Name, string Password)> users, List<ExpectedFile> expected)
    {
        var bad = new List<string>();
        var copy = Path.Combine(scratch, "verify.bin");
        foreach (var group in expected.GroupBy(f => f.User))
        {
            var user = users.Single(u => u.Name == group.Key);
            await using var client = await server.ConnectAsync(user.Name, user.Password);
            foreach (var file in group)
            {
                try
                {
                    var stat = await client.StatAsync(file.Path, CancellationToken.None);
                    var result = await client.DownloadAsync(file.Path, copy, new TransferOptions(), null, CancellationToken.None);
                    using var stream = File.OpenRead(copy);
                    var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
                    if (actual != file.Sha256 || result.Sha256 != file.Sha256 || (stat.Sha256 is not null && stat.Sha256 != file.Sha256))
                    {
                        bad.Add($"{file.User}:{file.Path} corrupt: expected {file.Sha256}, got {actual} (record {stat.Sha256})");
                    }
                }
                catch (SxpException ex) when (ex.Code == ErrorCode.NotFound)
                {
                    bad.Add($"{file.User}:{file.Path} lost");
                }
            }
        }

        return bad;
    }
}

public sealed record ExpectedFile(string User, string Path, string Sha256);
