using System.Globalization;

namespace SecureXfer.Shared.Endpoints.Ftp;

/// <summary>
/// Directory listings: RFC 3659 MLSD/MLST facts where the server has them, else the LIST
/// formats servers actually send (Unix <c>ls -l</c> style and DOS/IIS style). Lines that fit
/// neither are skipped, never guessed at.
/// </summary>
public static class FtpListing
{
    private static readonly string[] Months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

    /// <summary>One MLSD line or MLST entry line: <c>fact=value;...; name</c>. Null for the directory itself, its parent, and unreadable lines.</summary>
    public static EndpointEntry? ParseFacts(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || space == line.Length - 1)
        {
            return null;
        }

        var name = line[(space + 1)..];
        string? type = null;
        long size = 0;
        DateTimeOffset modified = DateTimeOffset.UnixEpoch;
        foreach (var fact in line[..space].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = fact.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var value = fact[(equals + 1)..];
            switch (fact[..equals].ToLowerInvariant())
            {
                case "type":
                    type = value.ToLowerInvariant();
                    break;
                case "size":
                    _ = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out size);
                    break;
                case "modify":
                    modified = ParseTime(value) ?? modified;
                    break;
            }
        }

        var kind = type switch
        {
            "file" => EntryKind.File,
            "dir" => EntryKind.Directory,
            "cdir" or "pdir" or null => (EntryKind?)null,
            _ => EntryKind.Other,
        };
        return kind is { } k && name is not "." and not ".." ? new EndpointEntry(name, k, k == EntryKind.File ? size : 0, modified) : null;
    }

    /// <summary>An RFC 3659 time value, YYYYMMDDHHMMSS[.sss], in UTC.</summary>
    public static DateTimeOffset? ParseTime(string value)
    {
        var text = value.Trim();
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? text : text[..dot];
        if (!DateTime.TryParseExact(whole, "yyyyMMddHHmmss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
        {
            return null;
        }

        if (dot >= 0 && text.Length > dot + 1 && double.TryParse("0" + text[dot..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var fraction))
        {
            time = time.AddTicks((long)Math.Round(fraction * TimeSpan.TicksPerSecond));
        }

        return new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc));
    }

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>One LIST line in Unix or DOS style; null when it is neither (or is "total N", ".", "..").</summary>
    public static EndpointEntry? ParseList(string line, DateTimeOffset now)
    {
        if (line.Length == 0)
        {
            return null;
        }

        return char.IsAsciiDigit(line[0]) ? ParseDos(line) : ParseUnix(line, now);
    }

    private static EndpointEntry? ParseUnix(string line, DateTimeOffset now)
    {
        // -rw-r--r--   1 owner group   1234 Nov 22 05:15 name
        var fields = new List<(int Start, string Text)>();
        var i = 0;
        while (fields.Count < 8 && i < line.Length)
        {
            while (i < line.Length && line[i] == ' ')
            {
                i++;
            }

            var start = i;
            while (i < line.Length && line[i] != ' ')
            {
                i++;
            }

            if (i > start)
            {
                fields.Add((start, line[start..i]));
            }
        }

        if (fields.Count < 8 || fields[0].Text.Length < 10 || i >= line.Length)
        {
            return null;
        }

        var name = line[(i + 1)..];
        var kind = fields[0].Text[0] switch
        {
            '-' => EntryKind.File,
            'd' => EntryKind.Directory,
            _ => EntryKind.Other,
        };
        if (kind == EntryKind.Other && name.Contains(" -> ", StringComparison.Ordinal))
        {
            name = name[..name.IndexOf(" -> ", StringComparison.Ordinal)];
        }

        var month = Array.IndexOf(Months, fields[5].Text.ToLowerInvariant());
        if (!long.TryParse(fields[4].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || month < 0
            || !int.TryParse(fields[6].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var day) || day is < 1 or > 31
            || name is "." or "..")
        {
            return null;
        }

        DateTimeOffset modified;
        var timeOrYear = fields[7].Text;
        if (timeOrYear.Contains(':', StringComparison.Ordinal)
            && TimeSpan.TryParseExact(timeOrYear, @"h\:mm", CultureInfo.InvariantCulture, out var clock))
        {
            // No year: the last twelve months.
            var year = now.Year;
            var candidate = SafeDate(year, month + 1, day) + clock;
            if (candidate > now.UtcDateTime.AddDays(1))
            {
                candidate = SafeDate(year - 1, month + 1, day) + clock;
            }

            modified = new DateTimeOffset(candidate, TimeSpan.Zero);
        }
        else if (int.TryParse(timeOrYear, NumberStyles.None, CultureInfo.InvariantCulture, out var year) && year is > 1900 and < 3000)
        {
            modified = new DateTimeOffset(SafeDate(year, month + 1, day), TimeSpan.Zero);
        }
        else
        {
            return null;
        }

        return new EndpointEntry(name, kind, kind == EntryKind.File ? size : 0, modified);
    }

    private static DateTime SafeDate(int year, int month, int day) =>
        new(year, month, Math.Min(day, DateTime.DaysInMonth(year, month)), 0, 0, 0, DateTimeKind.Utc);

    private static EndpointEntry? ParseDos(string line)
    {
        // 11-22-26  05:15AM       <DIR>          name    |    11-22-26  05:15AM   1234 name
        var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 4)
        {
            return null;
        }

        var stamp = parts[0] + " " + parts[1];
        if (!DateTime.TryParseExact(stamp, ["MM-dd-yy hh:mmtt", "MM-dd-yyyy hh:mmtt", "MM-dd-yy HH:mm", "MM-dd-yyyy HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return null;
        }

        var name = parts[3].TrimStart();
        if (name is "." or "..")
        {
            return null;
        }

        if (parts[2].Equals("<DIR>", StringComparison.OrdinalIgnoreCase))
        {
            return new EndpointEntry(name, EntryKind.Directory, 0, new DateTimeOffset(time, TimeSpan.Zero));
        }

        return long.TryParse(parts[2], NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var size)
            ? new EndpointEntry(name, EntryKind.File, size, new DateTimeOffset(time, TimeSpan.Zero))
            : null;
    }
}
