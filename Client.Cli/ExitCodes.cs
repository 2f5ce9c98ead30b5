namespace SecureXfer.Cli;

/// <summary>The process exit codes scripts rely on.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Auth = 3;
    public const int NotFound = 4;
    public const int Integrity = 5;

    /// <summary>Interrupted by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
