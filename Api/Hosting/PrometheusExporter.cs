using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using SecureXfer.Server.Observability;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// Collects the server's meters (its own, and ASP.NET Core's request durations and Kestrel's
/// connections) with a <see cref="MeterListener"/> and writes them in the Prometheus text format.
/// Counters become <c>_total</c>, up-down counters gauges, histograms buckets with sum and count.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    // System.Runtime: the runtime's own gauges (GC heap after the last collection, working set, thread pool), read at each scrape.
    private static readonly string[] Meters = [ServerMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime"];
    private static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly Lock _observeGate = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), Series> _series = new();

    public PrometheusExporter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (Meters.Contains(instrument.Meter.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public string Render()
    {
        lock (_observeGate)
        {
            // Observable instruments report their current values (one per tag set, summed here) at each scrape.
            foreach (var ((instrument, _), series) in _series.Where(s => s.Key.Instrument.IsObservable))
            {
                lock (series)
                {
                    series.Sum = 0;
                    series.Count = 0;
                }
            }

            _listener.RecordObservableInstruments();
        }

        var text = new StringBuilder();
        foreach (var group in _series.GroupBy(s => s.Key.Instrument).OrderBy(g => g.Key.Name, StringComparer.Ordinal))
        {
            var instrument = group.Key;
            var name = Name(instrument);
            var kind = instrument switch
            {
                Histogram<double> or Histogram<long> => "histogram",
                UpDownCounter<long> or UpDownCounter<int> or ObservableUpDownCounter<long> or ObservableUpDownCounter<int> or ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double> => "gauge",
                _ => "counter",
            };
            var exported = kind == "counter" ? name + "_total" : name;
            text.Append("# HELP ").Append(exported).Append(' ').Append(Escape(instrument.Description ?? instrument.Name)).Append('\n');
            text.Append("# TYPE ").Append(exported).Append(' ').Append(kind).Append('\n');
            foreach (var ((_, labels), series) in group.OrderBy(s => s.Key.Labels, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (kind != "histogram")
                    {
                        Line(text, exported, labels, series.Sum);
                        continue;
                    }

                    long cumulative = 0;
                    for (var i = 0; i < Bounds.Length; i++)
                    {
                        cumulative += series.Buckets[i];
                        Line(text, name + "_bucket", Join(labels, $"le=\"{Bounds[i].ToString(CultureInfo.InvariantCulture)}\""), cumulative);
                    }

                    Line(text, name + "_bucket", Join(labels, "le=\"+Inf\""), series.Count);
                    Line(text, name + "_sum", labels, series.Sum);
                    Line(text, name + "_count", labels, series.Count);
                }
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct
    {
        var number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        var labels = Labels(tags);
        var series = _series.GetOrAdd((instrument, labels), _ => new Series());
        lock (series)
        {
            series.Sum += number;
            series.Count++;
            if (instrument is Histogram<double> or Histogram<long>)
            {
                var bucket = Array.FindIndex(Bounds, b => number <= b);
                if (bucket >= 0)
                {
                    series.Buckets[bucket]++;
                }
            }
        }
    }

    /// <summary>Labels from a measurement's tags, sorted; only a few tags, none of them user data, are kept.</summary>
    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            if (key is "direction" or "result" or "http.request.method" or "http.response.status_code" or "http.route" or "gc.heap.generation")
            {
                parts.Add($"{Sanitise(key)}=\"{Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty)}\"");
            }
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join(',', parts);
    }

    private static string Name(Instrument instrument)
    {
        var name = Sanitise(instrument.Name);
        return instrument.Unit switch
        {
            "s" => name.EndsWith("_duration", StringComparison.Ordinal) ? name + "_seconds" : name,
            "By" => name.EndsWith("_bytes", StringComparison.Ordinal) ? name : name + "_bytes",
            _ => name,
        };
    }

    private static string Sanitise(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

    private static void Line(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    private sealed class Series
    {
        public double Sum;
        public long Count;
        public readonly long[] Buckets = new long[Bounds.Length];
    }
}
