namespace SecureXfer.Shared.Endpoints;

/// <summary>The relative '/'-separated paths every endpoint uses.</summary>
public static class EndpointPaths
{
    public static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    public static string Parent(string path) => path.LastIndexOf('/') is var slash and >= 0 ? path[..slash] : string.Empty;

    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or inside it.</summary>
    public static bool IsSameOrBelow(string path, string directory) =>
        directory.Length == 0 || path == directory || path.StartsWith(directory + "/", StringComparison.Ordinal);

    /// <summary>A name from a listing, refused when it could step out of its directory or carries control characters (terminal escapes, line breaks).</summary>
    public static bool IsUsableName(string name) =>
        name.Length > 0 && name is not "." and not ".." && !name.Contains('/', StringComparison.Ordinal) && !name.Any(char.IsControl);
}
