using System.Globalization;
using System.Text;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Cli.Output;

/// <summary>Plain-text renderings for people: aligned tables and key/value blocks.</summary>
internal static class HumanFormat
{
    public static EntryJson ToJson(RemoteEntry entry) =>
        new(entry.Name, TypeName(entry.Type), entry.Size, entry.Modified.ToUniversalTime(), entry.Sha256);

    public static string TypeName(EntryType type) => type == EntryType.Dir ? "dir" : "file";

    public static string Time(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>One row per entry under a header; sizes right-aligned, directories marked with '/'.</summary>
    public static string Table(IReadOnlyList<RemoteEntry> entries)
    {
        string[] header = ["TYPE", "SIZE", "MODIFIED", "NAME"];
        var rows = entries.Select(e => new[]
        {
            TypeName(e.Type),
            e.Type == EntryType.Dir ? "-" : e.Size.ToString(CultureInfo.InvariantCulture),
            Time(e.Modified),
            e.Type == EntryType.Dir ? e.Name + "/" : e.Name,
        }).ToList();

        var widths = new int[header.Length];
        foreach (var row in rows.Prepend(header))
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in rows.Prepend(header))
        {
            text.Append(row[0].PadRight(widths[0])).Append("  ")
                .Append(row[1].PadLeft(widths[1])).Append("  ")
                .Append(row[2].PadRight(widths[2])).Append("  ")
                .Append(row[3]).Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }

    public static string Details(string path, RemoteEntry entry)
    {
        var text = new StringBuilder()
            .Append("path:     ").Append(path).Append('\n')
            .Append("type:     ").Append(TypeName(entry.Type)).Append('\n');
        if (entry.Type == EntryType.File)
        {
            text.Append("size:     ").Append(entry.Size.ToString(CultureInfo.InvariantCulture))
                .Append(" (").Append(Sizes.Format(entry.Size)).Append(")\n");
        }

        text.Append("modified: ").Append(entry.Modified.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        if (entry.Sha256 is not null)
        {
            text.Append('\n').Append("sha256:   ").Append(entry.Sha256);
        }

        return text.ToString();
    }
}
