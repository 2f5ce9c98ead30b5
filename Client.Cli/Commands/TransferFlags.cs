using System.CommandLine;
using System.CommandLine.Parsing;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;

namespace SecureXfer.Cli.Commands;

/// <summary>The options shared by put and get, validated at parse time so bad values are usage errors.</summary>
internal sealed class TransferFlags
{
    public const int DefaultParallel = 4;

    public Option<bool> Recursive { get; } = new("--recursive", "-r") { Description = "Copy directories and everything in them." };

    public Option<int> Parallel { get; } = new("--parallel", "-p")
    {
        Description = "Connections used per file (1-16).",
        HelpName = "N",
        DefaultValueFactory = _ => DefaultParallel,
    };

    public Option<long> ChunkSize { get; } = new("--chunk-size")
    {
        Description = "Upload chunk size, e.g. 1M or 8MiB (64K to 16M; default 4M).",
        HelpName = "SIZE",
        CustomParser = result => ParseSize(result, "--chunk-size", SxpLimits.MinChunkSize, SxpLimits.MaxChunkSize),
    };

    public Option<long> LimitRate { get; } = new("--limit-rate")
    {
        Description = "Bandwidth limit in bytes per second, e.g. 500K or 40M (0 = none).",
        HelpName = "RATE",
        CustomParser = result => ParseSize(result, "--limit-rate", 0, long.MaxValue),
    };

    public TransferFlags()
    {
        Parallel.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value is < 1 or > 16)
            {
                result.AddError($"--parallel must be between 1 and 16, not {value}.");
            }
        });
    }

    public TransferOptions ToOptions(ParseResult parseResult) => new()
    {
        Parallel = parseResult.GetValue(Parallel),
        ChunkSize = parseResult.GetValue(ChunkSize) is > 0 and var chunk ? (int)chunk : SxpLimits.DefaultChunkSize,
        RateLimit = parseResult.GetValue(LimitRate),
    };

    private static long ParseSize(ArgumentResult result, string name, long min, long max)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!Sizes.TryParse(text, out var bytes))
        {
            result.AddError($"{name}: '{text}' is not a size; use bytes or a number with K, M or G (1024-based), e.g. 8M.");
            return 0;
        }

        if (bytes < min || bytes > max)
        {
            result.AddError($"{name}: {text} is out of range ({Sizes.Format(min)} to {Sizes.Format(max)}).");
            return 0;
        }

        return bytes;
    }
}
