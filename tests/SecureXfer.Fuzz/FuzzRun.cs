using System.Diagnostics;

namespace SecureXfer.Fuzz;

/// <summary>One target's outcome: inputs tried, distinct findings (first few kept), and memory before and after.</summary>
public sealed record FuzzReport(string Target, int Seed, long Inputs, TimeSpan Elapsed, IReadOnlyList<string> Findings, long ManagedBytesBefore, long ManagedBytesAfter, long PeakWorkingSet)
{
    /// <summary>Growth of the managed heap over the run past which memory counts as unbounded.</summary>
    public const long MaxGrowth = 64L << 20;

    public bool Passed => Findings.Count == 0 && ManagedBytesAfter - ManagedBytesBefore < MaxGrowth;
}

/// <summary>
/// Runs a target over generated inputs until the time is up. A finding is an exception other
/// than the target's expected refusal, or a broken property; an input that takes longer than
/// <see cref="HangLimit"/> is reported by a watchdog, which ends the process with that input in
/// hex (a hang cannot be interrupted in-process), so it can be replayed.
/// </summary>
public static class FuzzRun
{
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(10);

    public static FuzzReport Run(string target, int seed, TimeSpan duration, Func<Mutator, byte[]> generate, Action<byte[]> check)
    {
        var mutator = new Mutator(seed);
        var findings = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        long inputs = 0, peak = 0;
        byte[] current = [];
        var started = Stopwatch.GetTimestamp();
        using var watchdog = new Timer(_ =>
        {
            if (Stopwatch.GetElapsedTime(Volatile.Read(ref started)) > HangLimit)
            {
                Environment.FailFast($"fuzz target {target} hangs on input (seed {seed}): {Convert.ToHexString(current)}");
            }
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        while (clock.Elapsed < duration)
        {
            current = generate(mutator);
            Volatile.Write(ref started, Stopwatch.GetTimestamp());
            try
            {
                check(current);
            }
            catch (Exception ex)
            {
                var kind = ex.GetType().Name + ": " + ex.Message.Split('\n')[0];
                if (seen.Add(ex.GetType().Name + ex.StackTrace?.Split('\n').FirstOrDefault()) && findings.Count < 20)
                {
                    findings.Add($"{kind} on input {Convert.ToHexString(current.AsSpan(0, Math.Min(current.Length, 256)))}");
                }
            }

            if (++inputs % 4096 == 0)
            {
                peak = Math.Max(peak, Environment.WorkingSet);
            }
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        return new FuzzReport(target, seed, inputs, clock.Elapsed, findings, before, after, Math.Max(peak, Environment.WorkingSet));
    }
}
