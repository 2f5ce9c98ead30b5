namespace SecureXfer.Server.Configuration;

/// <summary>
/// Documents a setting of <see cref="SecureXferOptions"/> and bounds its value. The server's
/// <c>--help</c>, its start-up validation and the README's configuration table all come from these.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingAttribute(string meaning) : Attribute
{
    public string Meaning { get; } = meaning;

    /// <summary>The command-line switch that sets it, if any.</summary>
    public string? Switch { get; init; }

    /// <summary>Smallest value a number may take.</summary>
    public long Min { get; init; } = long.MinValue;

    /// <summary>Largest value a number may take.</summary>
    public long Max { get; init; } = long.MaxValue;

    /// <summary>Longest a duration may be, in seconds (durations used as timers stay below about 24 days).</summary>
    public long MaxSeconds { get; init; } = 3650L * 24 * 3600;

    /// <summary>How the default reads where it is not a plain value ("generated").</summary>
    public string? DefaultText { get; init; }
}
