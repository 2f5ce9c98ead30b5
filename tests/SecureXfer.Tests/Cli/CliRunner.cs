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

    /// <summary>Starts a long-running command (a scheduled sync) whose stdout lines the test reads as they come.</summary>
    public RunningCli StartReading(IReadOnlyList<string> args)
    {
        var process = Start(args);
        process.StandardInput.Close();
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        var stderr = new StringBuilder();
        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lines.Writer.TryWrite(line);
            }

            lines.Writer.TryComplete();
        });
        _ = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderr)
                {
                    stderr.AppendLine(line);
                }
            }
        });
        return new RunningCli(process, lines.Reader, stderr);
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

/// <summary>A CLI process still running, with its stdout as a stream of lines.</summary>
internal sealed class RunningCli(Process process, System.Threading.Channels.ChannelReader<string> lines, StringBuilder stderr) : IDisposable
{
    public Process Process { get; } = process;

    public string Stderr
    {
        get
        {
            lock (stderr)
            {
                return stderr.ToString();
            }
        }
    }

    /// <summary>The next stdout line as JSON, failing the test if none comes in time.</summary>
    public async Task<JsonElement> NextJsonAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var line = await lines.ReadAsync(deadline.Token);
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            Assert.Fail($"No output line within {timeout.TotalSeconds} s (exited: {Process.HasExited}).\nstderr: {Stderr}");
            throw;
        }
    }

    /// <summary>SIGTERM, as a service manager stops it; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(deadline.Token);
        return Process.ExitCode;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
    }
}
