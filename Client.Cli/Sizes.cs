using System.Globalization;

namespace SecureXfer.Cli;

/// <summary>
/// Byte counts written by people: plain bytes or a number with a binary suffix
/// (K, M, G, also KB/MB/GB and KiB/MiB/GiB, all multiples of 1024), case-insensitive.
/// </summary>
internal static class Sizes
{
    private static readonly (string Suffix, long Factor)[] Suffixes =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30),
        ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30),
        ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30),
        ("B", 1),
    ];

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        var value = text?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        long factor = 1;
        foreach (var (suffix, multiplier) in Suffixes)
        {
            if (value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = multiplier;
                value = value[..^suffix.Length].TrimEnd();
                break;
            }
        }

        if (value.Length == 0 || !value.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            return false;
        }

        if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var total = number * factor;
        if (total > long.MaxValue)
        {
            return false;
        }

        bytes = (long)decimal.Floor(total);
        return true;
    }

    /// <summary>A short human form: 0 B, 512 B, 1.5 KiB, 40.0 MiB.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
