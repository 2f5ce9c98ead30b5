using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Shared.Endpoints;

/// <summary>
/// The local half of a resumable download from a server that holds no hashes (FTP, SFTP): a
/// partial file beside the target and a small state file naming the version it came from
/// (size and modification time). A rerun continues it only while the server's file is still
/// that version; the target appears by rename, and never replaces a file that appeared meanwhile
/// unless asked to.
/// </summary>
internal sealed class PartialDownload
{
    private const string Suffix = ".sxpart";

    private readonly PartialVersion _expected;

    public PartialDownload(string localFile, long size, DateTimeOffset modified)
    {
        Target = localFile;
        Partial = localFile + Suffix;
        State = Partial + ".json";
        RemoveLinks(Partial, State);
        _expected = new PartialVersion(size, modified.UtcTicks);
    }

    public string Target { get; }

    public string Partial { get; }

    public string State { get; }

    /// <summary>
    /// Where to continue: the partial file's length when it came from this very version and the
    /// server can start mid-file; 0 otherwise (also when the server's time is unknown, since size
    /// alone cannot tell versions apart). Records the version for the next attempt.
    /// </summary>
    public long Begin(bool serverCanResume, bool timeKnown)
    {
        long offset = 0;
        if (serverCanResume && timeKnown && File.Exists(Partial) && Read() == _expected && new FileInfo(Partial).Length <= _expected.Size)
        {
            offset = new FileInfo(Partial).Length;
        }

        File.WriteAllText(State, JsonSerializer.Serialize(_expected, PartialJson.Default.PartialVersion));
        return offset;
    }

    /// <summary>Puts the finished partial file in place.</summary>
    public void Complete(bool replace)
    {
        if (!replace && Path.Exists(Target))
        {
            throw new IOException($"'{Target}' appeared while it was being downloaded; it was left as it is.");
        }

        File.Move(Partial, Target, overwrite: replace);
        File.Delete(State);
    }

    private PartialVersion? Read()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(State), PartialJson.Default.PartialVersion);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes links planted under names a transfer is about to write, so they cannot lead it elsewhere.</summary>
    public static void RemoveLinks(params string[] paths)
    {
        foreach (var path in paths)
        {
            if (new FileInfo(path).LinkTarget is not null)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>
    /// The staging name an upload uses beside its target on a server: fixed length, never synced,
    /// and derived from the source's size and time, so a resumed upload only continues bytes of
    /// the same version.
    /// </summary>
    public static string StagingPath(string path, long size, DateTime modifiedUtc)
    {
        var identity = string.Create(CultureInfo.InvariantCulture, $"{EndpointPaths.Name(path)}\n{size}\n{modifiedUtc.Ticks}");
        var name = SyncEngine.StagingPrefix + "up-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..24];
        var slash = path.LastIndexOf('/');
        return slash >= 0 ? path[..(slash + 1)] + name : name;
    }
}

internal sealed record PartialVersion(long Size, long ModifiedTicks);

[System.Text.Json.Serialization.JsonSerializable(typeof(PartialVersion))]
internal sealed partial class PartialJson : System.Text.Json.Serialization.JsonSerializerContext;
