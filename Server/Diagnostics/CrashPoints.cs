using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;

namespace SecureXfer.Server.Diagnostics;

/// <summary>
/// Named steps of the write paths where a fault-injection run can have the server killed
/// outright (SIGKILL: no finally blocks, no flushes), to prove that a crash at any of them
/// loses nothing. Armed only by <see cref="SecureXferOptions.CrashAt"/>, which is empty unless
/// a test sets it; unarmed, a hit costs one comparison.
/// </summary>
public sealed class CrashPoints
{
    public const string UploadChunkWritten = "upload.chunk-written";
    public const string UploadVerified = "upload.verified";
    public const string UploadRenamed = "upload.renamed";
    public const string UploadRecording = "upload.recording";
    public const string PutRenamed = "put.renamed";
    public const string PutRecording = "put.recording";

    public static readonly IReadOnlyList<string> All = [UploadChunkWritten, UploadVerified, UploadRenamed, UploadRecording, PutRenamed, PutRecording];

    private readonly string? _point;
    private readonly int _onHit;
    private int _hits;

    public CrashPoints(IOptions<SecureXferOptions> options)
    {
        // "point" dies at the first hit, "point@N" at the N-th.
        var setting = options.Value.CrashAt;
        if (string.IsNullOrWhiteSpace(setting))
        {
            return;
        }

        var parts = setting.Split('@', 2);
        if (!All.Contains(parts[0], StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"SecureXfer:CrashAt names no crash point; known: {string.Join(", ", All)}.");
        }

        _point = parts[0];
        _onHit = parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1;
    }

    public void Hit(string point)
    {
        if (_point is null || !string.Equals(point, _point, StringComparison.Ordinal))
        {
            return;
        }

        if (Interlocked.Increment(ref _hits) == _onHit)
        {
            Console.Error.WriteLine($"crash point {point} reached: killing the process");
            using var self = Process.GetCurrentProcess();
            self.Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
