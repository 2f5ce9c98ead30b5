using System.Diagnostics;
using System.Globalization;
using SecureXfer.Benchmarks;
using SecureXfer.Tests.Support;

// Throughput of SecureXfer against OpenSSH sftp on this machine, in one run.
//   dotnet run -c Release --project tests/SecureXfer.Benchmarks [-- --quick] [--size MiB] [--files N] [--runs N] [--rss-gib N] [--parallel N] [--warm-ups N]
var settings = BenchSettings.Parse(args);
Console.WriteLine($"SecureXfer benchmark: {settings.SizeMiB} MiB file, {settings.Files} x 4 KiB files, median of {settings.Runs} run(s), loopback, {Environment.ProcessorCount} cores");

using var work = new TempDir("sx-bench");
var big = work.Combine("big.bin");
TestFiles.WriteRandom(big, settings.SizeMiB << 20);
var small = work.Combine("small");
Directory.CreateDirectory(small);
for (var i = 0; i < settings.Files; i++)
{
    TestFiles.WriteRandom(Path.Combine(small, $"f{i:D5}.bin"), 4096, seed: i + 1);
}

await using var server = await ServerProcess.StartAsync();
var cli = new CliDriver(server, work.Combine("sxfer-config"));
await cli.LoginAsync();
await using var sshd = await OpenSshServer.StartAsync();
var sftpRoot = work.Combine("sftp-remote");
Directory.CreateDirectory(sftpRoot);
var bytes = settings.SizeMiB << 20;
var results = new List<Result>();

async Task<double> Median(string name, Func<int, Task> run, Func<int, Task>? before = null)
{
    var seconds = new List<double>();
    for (var i = 0; i < settings.Runs; i++)
    {
        if (before is not null)
        {
            await before(i);
        }

        await Tool.RunAsync("sync", []);
        var clock = Stopwatch.StartNew();
        await run(i);
        seconds.Add(clock.Elapsed.TotalSeconds);
    }

    seconds.Sort();
    var median = seconds[seconds.Count / 2];
    Console.Error.WriteLine($"  {name}: {string.Join(", ", seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} s");
    return median;
}

async Task Sftp(string batch, string? cipher)
{
    var file = work.Combine("batch.txt");
    await File.WriteAllTextAsync(file, batch);
    var (code, stdout, stderr) = await Tool.RunAsync("sftp", sshd.SftpArgs(file, cipher), timeout: TimeSpan.FromMinutes(10));
    if (code != 0)
    {
        throw new InvalidOperationException($"sftp failed: {stdout} {stderr}");
    }
}

void Delete(string path)
{
    if (Directory.Exists(path))
    {
        Directory.Delete(path, true);
    }
    else
    {
        File.Delete(path);
    }
}

var serverCpu = new ServerCpu(server);
var back = work.Combine("back.bin");
var backDir = work.Combine("back-small");

// Warm-up, not timed: a fresh server reaches its steady machine code after a few transfers (tiered JIT);
// each sftp variant gets the same untimed first run.
Console.Error.WriteLine("  warming up");
for (var i = 0; i < settings.WarmUps; i++)
{
    await cli.RunAsync("put", big, "/bench/warm.bin", "--parallel", settings.Parallel);
    await cli.RunAsync("get", "/bench/warm.bin", back, "--parallel", settings.Parallel);
    Delete(back);
}

for (var i = 0; i < settings.WarmUps * 2; i++)
{
    await cli.RunAsync("put", "-r", small, $"/bench/warm-small{i}");
    await cli.RunAsync("rm", "-r", $"/bench/warm-small{i}");
}

await cli.RunAsync("rm", "-r", "/bench/warm.bin");

// Large file: SecureXfer.
serverCpu.Mark();
var sxUp = await Median("sxfer put", _ => cli.RunAsync("put", big, "/bench/big.bin", "--parallel", settings.Parallel));
var upCpu = serverCpu.SecondsSinceMark() / settings.Runs;
serverCpu.Mark();
var sxDown = await Median("sxfer get", _ => cli.RunAsync("get", "/bench/big.bin", back, "--parallel", settings.Parallel), _ => { Delete(back); return Task.CompletedTask; });
var downCpu = serverCpu.SecondsSinceMark() / settings.Runs;

// Large file: sftp, default cipher and AES-128-GCM.
const string Gcm = "aes128-gcm@openssh.com";
var remoteBig = Path.Combine(sftpRoot, "big.bin");
await Sftp($"put {big} {remoteBig}\nget {remoteBig} {back}\n", null);
await Sftp($"put {big} {remoteBig}\nget {remoteBig} {back}\n", Gcm);
Delete(back);
var sftpUp = await Median("sftp put", _ => Sftp($"put {big} {remoteBig}\n", null));
var sftpDown = await Median("sftp get", _ => Sftp($"get {remoteBig} {back}\n", null), _ => { Delete(back); return Task.CompletedTask; });
var gcmUp = await Median("sftp put aes128-gcm", _ => Sftp($"put {big} {remoteBig}\n", Gcm));
var gcmDown = await Median("sftp get aes128-gcm", _ => Sftp($"get {remoteBig} {back}\n", Gcm), _ => { Delete(back); return Task.CompletedTask; });

results.Add(new("upload, MB/s", bytes / sxUp / 1e6, bytes / sftpUp / 1e6, bytes / gcmUp / 1e6, 2.0, 1.15));
results.Add(new("download, MB/s", bytes / sxDown / 1e6, bytes / sftpDown / 1e6, bytes / gcmDown / 1e6, 2.0, 1.15));

// Many small files.
var smallUp = await Median("sxfer put -r", i => cli.RunAsync("put", "-r", small, $"/bench/small{i}"));
var smallDown = await Median("sxfer get -r", _ => cli.RunAsync("get", "-r", "/bench/small0/small", backDir), _ => { Delete(backDir); Directory.CreateDirectory(backDir); return Task.CompletedTask; });
var sftpSmallUp = await Median("sftp put -r", i => Sftp($"-mkdir {sftpRoot}/small{i}\nput -r {small} {sftpRoot}/small{i}\n", null));
var sftpSmallDown = await Median("sftp get -r", _ => Sftp($"get -r {sftpRoot}/small0 {backDir}\n", null), _ => { Delete(backDir); Directory.CreateDirectory(backDir); return Task.CompletedTask; });
results.Add(new($"{settings.Files} x 4 KiB upload, files/s", settings.Files / smallUp, settings.Files / sftpSmallUp, null, 2.0, null));
results.Add(new($"{settings.Files} x 4 KiB download, files/s", settings.Files / smallDown, settings.Files / sftpSmallDown, null, null, null));

// Transport ceiling.
var pump = await TlsPump.MeasureAsync(server.CertificatePath, Path.Combine(server.DataDir, "tls", "server.key"), bytes);

// Memory while moving a large file.
string? memory = null;
if (settings.RssGiB > 0)
{
    var huge = work.Combine("huge.bin");
    TestFiles.WriteRandom(huge, (long)settings.RssGiB << 30);
    Delete(big);
    serverCpu.ResetPeakRss();
    var clientUp = await cli.PeakRssAsync("put", huge, "/bench/huge.bin", "--parallel", settings.Parallel);
    var serverUp = serverCpu.PeakRssMiB();
    serverCpu.ResetPeakRss();
    var clientDown = await cli.PeakRssAsync("get", "/bench/huge.bin", work.Combine("huge.back"), "--parallel", settings.Parallel);
    var serverDown = serverCpu.PeakRssMiB();
    memory = $"Peak RSS moving {settings.RssGiB} GiB: server {serverUp:F0} MiB (upload) / {serverDown:F0} MiB (download), target < 200 MB; "
        + $"client {clientUp:F0} MiB / {clientDown:F0} MiB, target < 150 MB";
}

Report.Print(results, pump, bytes / sxUp / 1e6, bytes / sxDown / 1e6, upCpu, downCpu, settings, memory);
return 0;
