namespace SecureXfer.Shared.Protocol.Client;

/// <summary>A set of half-open byte ranges, kept sorted and merged. Records which parts of a file are in place.</summary>
public sealed class ByteRanges
{
    private readonly List<(long Start, long End)> _ranges = [];

    public IReadOnlyList<(long Start, long End)> Ranges => _ranges;

    public long Total => _ranges.Sum(r => r.End - r.Start);

    public void Add(long start, long end)
    {
        if (end <= start)
        {
            return;
        }

        var i = 0;
        while (i < _ranges.Count && _ranges[i].End < start)
        {
            i++;
        }

        while (i < _ranges.Count && _ranges[i].Start <= end)
        {
            start = Math.Min(start, _ranges[i].Start);
            end = Math.Max(end, _ranges[i].End);
            _ranges.RemoveAt(i);
        }

        _ranges.Insert(i, (start, end));
    }

    /// <summary>The parts of [0, size) not in the set.</summary>
    public List<(long Start, long End)> Missing(long size)
    {
        var missing = new List<(long, long)>();
        long position = 0;
        foreach (var (start, end) in _ranges)
        {
            if (start >= size)
            {
                break;
            }

            if (start > position)
            {
                missing.Add((position, start));
            }

            position = Math.Max(position, end);
        }

        if (position < size)
        {
            missing.Add((position, size));
        }

        return missing;
    }

    /// <summary>Length of the part starting at zero that is wholly present.</summary>
    public long ContiguousPrefix => _ranges.Count > 0 && _ranges[0].Start == 0 ? _ranges[0].End : 0;
}
