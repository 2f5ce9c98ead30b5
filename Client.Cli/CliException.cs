namespace SecureXfer.Cli;

/// <summary>
/// A failure the CLI explains itself: the exit code, the machine-readable code printed in
/// JSON mode, and one line for a person. <see cref="Fingerprint"/> is set when the failure is
/// about a server certificate, so scripts can pin it.
/// </summary>
internal sealed class CliException(int exitCode, string code, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public string Code { get; } = code;

    public string? Fingerprint { get; init; }

    /// <summary>The command already printed its outcome (a sync's run report); only the exit code is left to give.</summary>
    public bool Reported { get; init; }

    public static CliException Usage(string message) => new(ExitCodes.Usage, "usage", message);

    public static CliException NotLoggedIn(string message) => new(ExitCodes.Auth, "not_logged_in", message);
}
