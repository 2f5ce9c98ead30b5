using SecureXfer.Shared.Sync;

namespace SecureXfer.Tests.Sync;

/// <summary>Cron expressions in crontab and Quartz form, and --every intervals.</summary>
public sealed class SyncScheduleTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 10, 7, 30, TimeSpan.Zero); // a Friday

    private static DateTimeOffset Next(string cron, DateTimeOffset after) => SyncSchedule.Cron(cron, TimeZoneInfo.Utc).Next(after)!.Value;

    [Theory]
    [InlineData("*/5 * * * *", "2026-11-20T10:10:00Z")]
    [InlineData("0 * * * *", "2026-11-20T11:00:00Z")]
    [InlineData("30 2 * * *", "2026-11-21T02:30:00Z")]
    [InlineData("0 9 * * 1-5", "2026-11-23T09:00:00Z")] // Monday, skipping the weekend
    [InlineData("0 9 * * 0", "2026-11-22T09:00:00Z")] // Sunday as 0
    [InlineData("0 9 * * 7", "2026-11-22T09:00:00Z")] // and as 7
    [InlineData("0 9 * * SAT,SUN", "2026-11-21T09:00:00Z")]
    [InlineData("0 0 1 * *", "2026-12-01T00:00:00Z")]
    [InlineData("0 0 1 * 1", "2026-11-23T00:00:00Z")] // both day fields: either one matching counts
    [InlineData("0 0 25 12 *", "2026-12-25T00:00:00Z")]
    [InlineData("0 0 15 * */1", "2026-12-15T00:00:00Z")] // a weekday field starting with '*' leaves the day of month in charge
    [InlineData("0 0 * * */2", "2026-11-21T00:00:00Z")] // Sunday, Tuesday, Thursday, Saturday
    [InlineData("*/10 * * * * ?", "2026-11-20T10:07:40Z")] // Quartz form, with seconds
    public void A_crontab_expression_fires_when_cron_would(string expression, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Next(expression, Start));

    [Fact]
    public void Each_next_time_follows_the_previous_one()
    {
        var times = new List<DateTimeOffset> { Start };
        for (var i = 0; i < 4; i++)
        {
            times.Add(Next("*/15 * * * *", times[^1]));
        }

        Assert.Equal(["10:15", "10:30", "10:45", "11:00"], times.Skip(1).Select(t => t.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("61 * * * *")]
    [InlineData("* * *")]
    [InlineData("0 9 * * 8")]
    [InlineData("0 9 * * FUNDAY")]
    [InlineData("0 9 * * 5-1")]
    [InlineData("not a cron")]
    [InlineData("0 0 */2 * 1")] // both day fields must match: not expressible, so refused rather than misread
    public void A_bad_expression_is_refused_with_a_reason(string expression)
    {
        var error = Assert.Throws<FormatException>(() => SyncSchedule.Cron(expression, TimeZoneInfo.Utc));
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1d", 86400)]
    [InlineData("45", 45)]
    [InlineData(" 2M ", 120)]
    public void Intervals_parse(string text, int seconds)
    {
        Assert.True(SyncSchedule.TryParseInterval(text, out var interval));
        Assert.Equal(TimeSpan.FromSeconds(seconds), interval);
        Assert.Equal(Start + interval, SyncSchedule.Every(interval).Next(Start));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0s")]
    [InlineData("5x")]
    [InlineData("m")]
    [InlineData("-5m")]
    [InlineData("400d")]
    [InlineData("9999999999s")]
    public void Bad_intervals_are_refused(string text) => Assert.False(SyncSchedule.TryParseInterval(text, out _));
}
