using System.Text;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Shared.Paths;

/// <summary>
/// A path inside a user's root, in canonical form: NFC-normalised, '/'-separated, starting
/// with '/', no empty, '.' or '..' segments. Every front-end turns user input into one of
/// these before touching storage; anything that cannot be made canonical is refused, never
/// repaired, so there is no second interpretation for an attacker to aim at.
/// </summary>
public readonly record struct RemotePath
{
    public const int MaxLength = 4096;
    public const int MaxSegmentBytes = 255;

    public static readonly RemotePath Root = new("/");

    private RemotePath(string value) => Value = value;

    public string Value { get; }

    public bool IsRoot => Value == "/";

    public string Name => IsRoot ? "/" : Value[(Value.LastIndexOf('/') + 1)..];

    public RemotePath Parent => IsRoot ? this : new RemotePath(Value.LastIndexOf('/') is var i and > 0 ? Value[..i] : "/");

    public IEnumerable<string> Segments => Value.Split('/', StringSplitOptions.RemoveEmptyEntries);

    public RemotePath Append(string name) => Parse(IsRoot ? "/" + name : Value + "/" + name);

    public bool IsSameOrBelow(RemotePath ancestor) =>
        ancestor.IsRoot || Value == ancestor.Value || Value.StartsWith(ancestor.Value + "/", StringComparison.Ordinal);

    public override string ToString() => Value;

    public static RemotePath Parse(string? input) =>
        TryParse(input, out var path, out var error) ? path : throw new SxpException(ErrorCode.InvalidPath, error);

    public static bool TryParse(string? input, out RemotePath path, out string error)
    {
        path = Root;
        error = string.Empty;
        if (string.IsNullOrEmpty(input))
        {
            return true;
        }

        if (input.Length > MaxLength)
        {
            error = "Path is too long.";
            return false;
        }

        foreach (var c in input)
        {
            if (c == '\0' || char.IsControl(c))
            {
                error = "Path contains a control character.";
                return false;
            }

            if (c == '\\')
            {
                error = "Path contains a backslash; use '/' as the separator.";
                return false;
            }
        }

        string normalized;
        try
        {
            normalized = input.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            error = "Path is not valid Unicode.";
            return false;
        }

        var builder = new StringBuilder(normalized.Length + 1);
        foreach (var segment in normalized.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                error = "Path contains '..'.";
                return false;
            }

            if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
            {
                error = "A path segment is longer than 255 bytes.";
                return false;
            }

            builder.Append('/').Append(segment);
        }

        path = builder.Length == 0 ? Root : new RemotePath(builder.ToString());
        return true;
    }
}
