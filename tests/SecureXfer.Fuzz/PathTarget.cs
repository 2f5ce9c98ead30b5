using System.Runtime.InteropServices;
using System.Text;
using SecureXfer.Shared.Paths;

namespace SecureXfer.Fuzz;

/// <summary>
/// Path canonicalisation: any string, however odd (lone surrogates, combining marks, look-alike
/// dots and slashes, percent escapes, controls), is either refused or turned into a canonical
/// path that stays inside a root when joined to it, and that parses to itself again.
/// </summary>
public static class PathTarget
{
    private const string Root = "/srv/securexfer/files/42";

    private static readonly string[] Pieces =
    [
        "/", "//", ".", "..", "...", "a", "b.txt", "\\", "%2e", "%2f", "%00", "\0", "\n", "\u0085", "\u2028",
        "\uFF0E", "\uFF0F", "\u2024", "\u2215", "\u2044", "\u0301", "e\u0301", "\u00E9", "\u212B", "\uFB01", "\u1E9B\u0323",
        "\uD800", "\uDC00", "\uD83D\uDE00", "\u202E", "\u200B", "\uFEFF", " ", "~", "$HOME", "C:", "..\\..", new string('x', 255),
        new string('\u00E9', 128), "\u0958", "\u0344", "\u1100\u1161",
    ];

    public static FuzzReport Run(int seed, TimeSpan duration) =>
        FuzzRun.Run("paths", seed, duration, Generate, input => CheckOne(MemoryMarshal.Cast<byte, char>(input).ToString()));

    private static byte[] Generate(Mutator mutator)
    {
        var random = mutator.Random;
        var text = new StringBuilder();
        var count = random.Next(12) == 0 ? 2000 + random.Next(3000) : random.Next(12);
        for (var i = 0; i < count; i++)
        {
            if (random.Next(4) == 0)
            {
                text.Append((char)random.Next(0x10000));
            }
            else
            {
                text.Append(Pieces[random.Next(Pieces.Length)]);
            }
        }

        return MemoryMarshal.AsBytes(text.ToString().AsSpan()).ToArray();
    }

    public static void CheckOne(string? input)
    {
        if (!RemotePath.TryParse(input, out var path, out var error))
        {
            if (string.IsNullOrEmpty(error))
            {
                throw new InvalidOperationException("A refusal without a reason.");
            }

            return;
        }

        var value = path.Value;
        if (value.Length == 0 || value[0] != '/' || (value.Length > 1 && value.EndsWith('/')) || value.Contains("//", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Not canonical: '{value}'.");
        }

        if (value.Any(c => c == '\\' || char.IsControl(c)) || !value.IsNormalized(NormalizationForm.FormC))
        {
            throw new InvalidOperationException($"Backslash, control character or non-NFC text survived: '{value}'.");
        }

        foreach (var segment in path.Segments)
        {
            if (segment is "." or ".." || Encoding.UTF8.GetByteCount(segment) > RemotePath.MaxSegmentBytes)
            {
                throw new InvalidOperationException($"Segment '{segment}' survived.");
            }
        }

        if (!RemotePath.TryParse(value, out var again, out var secondError) || again.Value != value)
        {
            throw new InvalidOperationException($"Not a fixed point: '{value}' parses to '{again.Value}' ({secondError}).");
        }

        var joined = Path.GetFullPath(Path.Join(Root, value));
        if (joined != Root && !joined.StartsWith(Root + "/", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{value}' leaves the root: {joined}.");
        }
    }
}
