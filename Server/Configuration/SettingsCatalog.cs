using System.Globalization;
using System.Reflection;

namespace SecureXfer.Server.Configuration;

/// <summary>One setting: its configuration key, how else it can be given, its default and what it does.</summary>
public sealed record SettingInfo(string Key, string? Switch, string Default, string Meaning, Type Type, SettingAttribute Bounds)
{
    /// <summary>The environment variable that sets it (<c>SecureXfer__Tls__KeyPath</c>).</summary>
    public string EnvironmentVariable => Key.Replace(":", "__", StringComparison.Ordinal);
}

/// <summary>Every setting of <see cref="SecureXferOptions"/>, read from its <see cref="SettingAttribute"/>s.</summary>
public static class SettingsCatalog
{
    public static IReadOnlyList<SettingInfo> All { get; } = [.. Walk(typeof(SecureXferOptions), SecureXferOptions.Section, new SecureXferOptions())];

    /// <summary>Command-line switches and the keys they set.</summary>
    public static IReadOnlyDictionary<string, string> Switches { get; } =
        All.Where(s => s.Switch is not null).ToDictionary(s => s.Switch!, s => s.Key, StringComparer.Ordinal);

    public static SettingInfo? Find(string key) =>
        All.FirstOrDefault(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>A value as configuration spells it: TimeSpans as <c>d.hh:mm:ss</c>, booleans in lower case.</summary>
    public static string Format(object? value) => value switch
    {
        null => string.Empty,
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static IEnumerable<SettingInfo> Walk(Type type, string prefix, object defaults)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = prefix + ":" + property.Name;
            var setting = property.GetCustomAttribute<SettingAttribute>();
            if (setting is not null)
            {
                var valueType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                yield return new SettingInfo(key, setting.Switch, setting.DefaultText ?? Format(property.GetValue(defaults)), setting.Meaning, valueType, setting);
            }
            else if (property.PropertyType.IsClass && property.PropertyType != typeof(string) && property.GetValue(defaults) is { } nested)
            {
                foreach (var inner in Walk(property.PropertyType, key, nested))
                {
                    yield return inner;
                }
            }
        }
    }
}
