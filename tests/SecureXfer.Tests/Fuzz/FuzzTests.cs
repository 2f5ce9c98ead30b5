using SecureXfer.Fuzz;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Fuzz;

/// <summary>
/// The fuzz targets in their short CI mode (seconds, with a fresh seed each run, printed on a
/// finding so it can be replayed). Longer runs: <c>dotnet run -c Release --project tests/SecureXfer.Fuzz -- all --seconds 600</c>.
/// </summary>
public sealed class FuzzTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    private static int Seed => Environment.TickCount & 0x7FFF_FFFF;

    private static void AssertClean(FuzzReport report, long minimumInputs)
    {
        Assert.True(report.Findings.Count == 0, $"{report.Target} (seed {report.Seed}):\n" + string.Join('\n', report.Findings));
        Assert.True(report.Inputs >= minimumInputs, $"only {report.Inputs} inputs in {report.Elapsed}");
        Assert.True(report.Passed, $"managed heap grew from {report.ManagedBytesBefore} to {report.ManagedBytesAfter} bytes");
    }

    [Fact]
    public void The_frame_decoder_survives_mutated_and_random_streams()
    {
        AssertClean(FrameTarget.Run(Seed, Short), 100_000);
    }

    [Fact]
    public void Path_canonicalisation_refuses_or_confines_every_string()
    {
        AssertClean(PathTarget.Run(Seed, Short), 100_000);
    }

    [Fact]
    public async Task The_live_server_answers_mutated_frames_with_refusals_and_keeps_serving()
    {
        await using var server = await ServerProcess.StartAsync();
        await server.AddUserAsync("fuzz", "fuzz-password", quotaBytes: 64L << 20);
        var token = await server.LoginAsync("fuzz", "fuzz-password");
        var report = await Task.Run(() => ServerTarget.Run(server, token, Seed, TimeSpan.FromSeconds(30)));
        AssertClean(report, 100);
    }

    [Theory]
    // A PATH request whose invalid literal ("falsd") is split across buffer segments: the JSON
    // reader's multi-segment path threw IndexOutOfRangeException instead of a typed refusal.
    [InlineData("frames", "0000003F300000001000000B7B22706174646568223A222F66757A7A2F736D616C6C2E747874222C226F6666736574223A302C226C656E677468223A2D312C22636C616D70223A66616C73647D")]
    public void Earlier_findings_stay_fixed(string target, string hex)
    {
        Assert.Equal("frames", target);
        FrameTarget.Check(Convert.FromHexString(hex));
    }
}
