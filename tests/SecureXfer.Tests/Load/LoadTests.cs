using SecureXfer.Load;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Load;

/// <summary>
/// The load tool in its short mode: 20 clients for 20 seconds with every operation in the mix.
/// Zero errors, every stored file intact, and no growth in the server's handles or memory once
/// it settles. The full soak (200 clients, 5 minutes) is <c>dotnet run -c Release --project tests/SecureXfer.Load</c>.
/// </summary>
public sealed class LoadTests
{
    [Fact]
    public async Task Twenty_clients_for_twenty_seconds_lose_nothing_and_leave_nothing_behind()
    {
        await using var server = await ServerProcess.StartAsync();
        using var scratch = new TempDir("sx-load-test");
        var report = await new LoadRun(server, new LoadSettings(20, TimeSpan.FromSeconds(20), 4, TimeSpan.FromSeconds(3)), scratch.Path).RunAsync();
        var text = new StringWriter();
        LoadReportWriter.Write(text, report);

        Assert.True(report.Passed, text.ToString());
        Assert.True(report.FilesChecked > 50, text.ToString());
        Assert.All(["put", "upload", "download", "list", "stat", "login"], op => Assert.True(report.Operations[op].Count > 0, $"no {op} ran\n{text}"));
    }
}
