using System.Globalization;
using Quartz;

namespace SecureXfer.Shared.Sync;

/// <summary>
/// When a repeated sync runs next: at a fixed interval, or on a cron schedule. A cron
/// expression may have the five fields of crontab(5) (minute hour day-of-month month
/// day-of-week, Sunday 0 or 7, and a day matching either day field when both are restricted)
/// or Quartz's own six or seven (with seconds and '?').
/// </summary>
public abstract class SyncSchedule
{
    /// <summary>The first time strictly after <paramref name="after"/> a run is due; null when the schedule has no more.</summary>
    public abstract DateTimeOffset? Next(DateTimeOffset after);

    public abstract string Describe();

    public static SyncSchedule Every(TimeSpan interval) => new IntervalSchedule(interval);

    /// <summary>Parses a cron expression, in <paramref name="zone"/> (local time by default); a <see cref="FormatException"/> says what is wrong.</summary>
    public static SyncSchedule Cron(string expression, TimeZoneInfo? zone = null)
    {
        var fields = expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var quartz = fields.Length switch
        {
            5 => FromCrontab(fields),
            6 or 7 => [string.Join(' ', fields)],
            _ => throw new FormatException($"'{expression}' has {fields.Length} fields; a cron expression has 5 (minute hour day month weekday) or Quartz's 6-7 (with seconds)."),
        };

        var parsed = quartz.Select(text =>
        {
            try
            {
                return new CronExpression(text) { TimeZone = zone ?? TimeZoneInfo.Local };
            }
            catch (FormatException ex)
            {
                throw new FormatException($"'{expression}' is not a valid cron expression: {ex.Message}", ex);
            }
        }).ToList();
        return new CronSchedule(expression.Trim(), parsed);
    }

    /// <summary>
    /// A duration such as 90s, 5m, 1h30m or 1d (a bare number is seconds); at least one second.
    /// </summary>
    public static bool TryParseInterval(string text, out TimeSpan interval)
    {
        interval = TimeSpan.Zero;
        var rest = text.Trim().ToLowerInvariant();
        if (rest.Length == 0)
        {
            return false;
        }

        if (long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var bare))
        {
            interval = TimeSpan.FromSeconds(bare);
            return bare >= 1 && bare <= 366L * 86400;
        }

        var total = TimeSpan.Zero;
        var i = 0;
        while (i < rest.Length)
        {
            var start = i;
            while (i < rest.Length && char.IsAsciiDigit(rest[i]))
            {
                i++;
            }

            if (i == start || i == rest.Length || i - start > 6)
            {
                return false;
            }

            var value = long.Parse(rest.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture);
            total += rest[i++] switch
            {
                's' => TimeSpan.FromSeconds(value),
                'm' => TimeSpan.FromMinutes(value),
                'h' => TimeSpan.FromHours(value),
                'd' => TimeSpan.FromDays(value),
                _ => TimeSpan.MinValue,
            };
            if (total < TimeSpan.Zero)
            {
                return false;
            }
        }

        interval = total;
        return total >= TimeSpan.FromSeconds(1) && total <= TimeSpan.FromDays(366);
    }

    /// <summary>
    /// Quartz needs '?' in one of the two day fields and counts weekdays from Sunday = 1. As in
    /// Vixie cron, when both day fields are restricted either may match (two expressions, the
    /// earlier wins), and a field starting with '*' (such as <c>*/2</c>) does not count as
    /// restricted for that rule: then both must match, which Quartz can express only when one
    /// of them allows every day.
    /// </summary>
    private static string[] FromCrontab(string[] fields)
    {
        var (minute, hour, dayOfMonth, month, dayOfWeek) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
        if (dayOfWeek == "*")
        {
            return [$"0 {minute} {hour} {dayOfMonth} {month} ?"];
        }

        var weekdays = QuartzWeekdays(dayOfWeek);
        var everyWeekday = weekdays == "1,2,3,4,5,6,7";
        if (dayOfMonth == "*" || (everyWeekday && dayOfMonth.StartsWith('*')))
        {
            return everyWeekday ? [$"0 {minute} {hour} {dayOfMonth} {month} ?"] : [$"0 {minute} {hour} ? {month} {weekdays}"];
        }

        if (dayOfMonth.StartsWith('*') || dayOfWeek.StartsWith('*'))
        {
            if (everyWeekday)
            {
                return [$"0 {minute} {hour} {dayOfMonth} {month} ?"];
            }

            throw new FormatException($"'{dayOfMonth}' and '{dayOfWeek}' restrict both day fields and must both match; use one day field, or Quartz's six-field form.");
        }

        return [$"0 {minute} {hour} {dayOfMonth} {month} ?", $"0 {minute} {hour} ? {month} {weekdays}"];
    }

    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    /// <summary>A crontab weekday field (lists, ranges, steps, names, 0 or 7 for Sunday) as a Quartz list of days 1-7.</summary>
    private static string QuartzWeekdays(string field)
    {
        var days = new SortedSet<int>();
        foreach (var part in field.Split(','))
        {
            var (range, step) = part.Split('/') switch
            {
                [var r] => (r, 1),
                [var r, var s] when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 => (r, n),
                _ => throw new FormatException($"'{part}' is not a weekday, range or step."),
            };
            int first, last;
            if (range == "*")
            {
                (first, last) = (0, 6);
            }
            else if (range.Split('-') is [var a, var b])
            {
                (first, last) = (Weekday(a), Weekday(b));
            }
            else
            {
                first = Weekday(range);
                last = step > 1 ? 6 : first;
            }

            if (last < first)
            {
                throw new FormatException($"The weekday range '{range}' runs backwards.");
            }

            for (var day = first; day <= last; day += step)
            {
                days.Add(day % 7);
            }
        }

        return string.Join(',', days.Select(d => (d + 1).ToString(CultureInfo.InvariantCulture)));
    }

    private static int Weekday(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= 7)
        {
            return number;
        }

        var index = Array.FindIndex(DayNames, n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
        return index >= 0 ? index : throw new FormatException($"'{text}' is not a weekday (0-7 or SUN-SAT).");
    }

    private sealed class IntervalSchedule(TimeSpan interval) : SyncSchedule
    {
        public override DateTimeOffset? Next(DateTimeOffset after) => after + interval;

        public override string Describe() => $"every {interval}";
    }

    private sealed class CronSchedule(string text, IReadOnlyList<CronExpression> expressions) : SyncSchedule
    {
        public override DateTimeOffset? Next(DateTimeOffset after) =>
            expressions.Select(e => e.GetNextValidTimeAfter(after)).Where(t => t is not null).Min();

        public override string Describe() => $"cron '{text}'";
    }
}
