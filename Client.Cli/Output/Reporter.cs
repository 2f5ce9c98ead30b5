using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace SecureXfer.Cli.Output;

/// <summary>
/// Where a command's output goes. In JSON mode stdout carries exactly one object and nothing
/// else; in human mode results go to stdout and problems to stderr; --quiet silences success.
/// </summary>
internal sealed class Reporter(bool json, bool quiet)
{

    public bool Json { get; } = json;

    public bool Quiet { get; } = quiet;

    /// <summary>Human lines on stdout are wanted.</summary>
    public bool Human => !Json && !Quiet;

    public void Result<T>(T value, JsonTypeInfo<T> typeInfo, Action human)
    {
        if (Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(value, typeInfo));
        }
        else if (!Quiet)
        {
            human();
        }
    }

    public void Line(string text)
    {
        if (Human)
        {
            Console.Out.WriteLine(text);
        }
    }

    /// <summary>A warning that does not fail the command; stderr, so JSON on stdout stays clean.</summary>
    public void Warn(string text)
    {
        if (!Quiet)
        {
            Console.Error.WriteLine("sxfer: warning: " + text);
        }
    }

    public int Fail(CliException failure)
    {
        if (failure.Reported)
        {
            return failure.ExitCode;
        }

        if (Json)
        {
            var body = new ErrorJson(new ErrorBodyJson(failure.Code, failure.Message, failure.Fingerprint));
            Console.Out.WriteLine(JsonSerializer.Serialize(body, CliJson.Context.ErrorJson));
        }
        else
        {
            Console.Error.WriteLine("sxfer: " + failure.Message);
        }

        return failure.ExitCode;
    }
}
