namespace SecureXfer.Tests.Support;

/// <summary>Locates the built server and CLI next to this test assembly's build.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release, the same as this test assembly.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string ApiDll => Built("Api", "SecureXfer.Api.dll");

    public static string CliDll => Built("Client.Cli", "sxfer.dll");

    public static string BenchmarkDll => Built(Path.Combine("tests", "SecureXfer.Benchmarks"), "SecureXfer.Benchmarks.dll");

    private static string Built(string project, string file)
    {
        var path = Path.Combine(Root, project, "bin", Configuration, "net10.0", file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first: {path} is missing.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SecureXfer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("SecureXfer.sln not found above the test assembly.");
    }
}
