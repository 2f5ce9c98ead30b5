using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Cli;

/// <summary>What one run of the CLI did.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout as exactly one JSON object; anything else on stdout fails the parse.</summary>
    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Stdout);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        return document.RootElement.Clone();
    }

    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// Runs the built sxfer as a child process with its own config directory. Stdin, stdout and
/// stderr are pipes, so the CLI never sees a terminal.
/// </summary>
internal sealed class CliRunner(string configDir, string workingDirectory)
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public string ConfigDir { get; } = configDir;

    public string WorkingDirectory { get; } = workingDirectory;

    /// <summary>Extra environment for every run; a null value removes the variable.</summary>
    public Dictionary<string, string?> Environment { get; } = [];

    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, stdin: null);

    public async Task<CliResult> RunAsync(IReadOnlyList<string> args, string? stdin, TimeSpan? timeout = null)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"sxfer {string.Join(' ', args)} did not finish in time.");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a run without waiting, for tests that interrupt it. Output is drained in the background.</summary>
    public Process StartDetached(IReadOnlyList<string> args)
    {
        var process = Start(args);
        process.StandardInput.Close();
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    private Process Start(IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Repo.CliDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["SXFER_CONFIG"] = ConfigDir;
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }
}
