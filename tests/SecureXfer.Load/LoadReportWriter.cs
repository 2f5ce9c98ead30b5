using System.Globalization;

namespace SecureXfer.Load;

public static class LoadReportWriter
{
    public static void Write(TextWriter output, LoadReport report)
    {
        var s = report.Settings;
        var seconds = report.Elapsed.TotalSeconds;
        output.WriteLine(Invariant($"SecureXfer load: {s.Clients} clients ({s.Users} users) for {seconds:F0} s on loopback"));
        output.WriteLine();
        output.WriteLine($"{"operation",-10} {"count",9} {"errors",7} {"ops/s",8} {"MiB/s",8} {"p50 ms",8} {"p99 ms",8}");
        foreach (var (name, stats) in report.Operations.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            output.WriteLine(Invariant($"{name,-10} {stats.Count,9} {stats.Errors,7} {stats.Count / seconds,8:F1} {stats.Bytes / 1048576.0 / seconds,8:F2} {stats.Percentile(0.50),8:F1} {stats.Percentile(0.99),8:F1}"));
        }

        var total = report.Operations.Values.Sum(o => o.Count);
        output.WriteLine(Invariant($"{"all",-10} {total,9} {report.Errors,7} {total / seconds,8:F1} {report.Operations.Values.Sum(o => o.Bytes) / 1048576.0 / seconds,8:F2}"));
        output.WriteLine();
        output.WriteLine(Invariant($"files checked after the run: {report.FilesChecked}, lost or corrupt: {report.BadFiles.Count}"));
        output.WriteLine($"{"server",-16} {"RSS MiB",8} {"heap MiB",9} {"handles",8} {"threads",8}");
        foreach (var (label, sample) in new[] { ("start (warm)", report.Start), ("half time", report.Half), ("end", report.End), ("end, settled", report.Settled), ("disconnected", report.Disconnected) })
        {
            output.WriteLine(Invariant($"{label,-16} {sample.RssBytes / 1048576.0,8:F0} {sample.ManagedHeapBytes / 1048576.0,9:F0} {sample.Handles,8} {sample.Threads,8}"));
        }

        foreach (var (label, sample) in new[] { ("start", report.Start), ("half time", report.Half), ("end", report.Settled) })
        {
            output.WriteLine("  GC heap at " + label + ": " + string.Join(", ", sample.HeapByGeneration.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => Invariant($"{p.Key} {p.Value / 1048576.0:F0} MiB"))));
        }

        foreach (var kind in report.Settled.HandleKinds.Keys.Union(report.Start.HandleKinds.Keys).Order(StringComparer.Ordinal)
            .Where(k => report.Settled.HandleKinds.GetValueOrDefault(k) != report.Start.HandleKinds.GetValueOrDefault(k) || report.Half.HandleKinds.GetValueOrDefault(k) != report.Start.HandleKinds.GetValueOrDefault(k)))
        {
            output.WriteLine(Invariant($"  handles of kind {kind}: {report.Start.HandleKinds.GetValueOrDefault(kind)} at the start, {report.Half.HandleKinds.GetValueOrDefault(kind)} at half time, {report.Settled.HandleKinds.GetValueOrDefault(kind)} at the end"));
        }

        output.WriteLine();
        foreach (var (name, stats) in report.Operations)
        {
            foreach (var error in stats.FirstErrors)
            {
                output.WriteLine($"error in {name}: {error}");
            }
        }

        foreach (var bad in report.BadFiles.Take(20))
        {
            output.WriteLine("bad file: " + bad);
        }

        output.WriteLine(report.Passed
            ? "result: ok"
            : $"result: FAILED (errors {report.Errors}, bad files {report.BadFiles.Count}, handles settled {report.HandlesSettled}, memory settled {report.MemorySettled}, sockets closed {report.SocketsClosed})");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
