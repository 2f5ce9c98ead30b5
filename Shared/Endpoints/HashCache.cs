using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Endpoints;

/// <summary>
/// SHA-256 of local files, remembered by path, size, modification time, inode and change time
/// (ctime, which moves on every write and cannot be set back), so a checksum sync does not read
/// unchanged files again but notices content rewritten under a preserved modification time. Saved as JSON (mode 0600); entries under the roots a run
/// looked at and did not use are dropped, so deleted files do not pile up.
/// </summary>
public sealed class HashCache
{
    private readonly string _file;
    private readonly ConcurrentDictionary<string, CachedHash> _known;
    private readonly ConcurrentDictionary<string, CachedHash> _used = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<string> _roots = [];

    private HashCache(string file, ConcurrentDictionary<string, CachedHash> known)
    {
        _file = file;
        _known = known;
    }

    /// <summary>The cache kept in <paramref name="file"/>; an unreadable or damaged file starts an empty cache.</summary>
    public static HashCache Load(string file)
    {
        var known = new ConcurrentDictionary<string, CachedHash>(StringComparer.Ordinal);
        try
        {
            var stored = JsonSerializer.Deserialize(File.ReadAllText(file), HashCacheJson.Default.ListCachedHash) ?? [];
            foreach (var entry in stored)
            {
                known[entry.Path] = entry;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // Nothing usable: every file is hashed again, which is only slower.
        }

        return new HashCache(file, known);
    }

    /// <summary>Marks <paramref name="root"/> as looked at: its unused entries are dropped on save.</summary>
    public void Covering(string root) => _roots.Add(root.TrimEnd('/') + "/");

    public string? Find(string path, long size, DateTime modifiedUtc, ulong inode, long changeTicks)
    {
        if (_known.TryGetValue(path, out var entry) && entry.Size == size && entry.ModifiedTicks == modifiedUtc.Ticks
            && entry.Inode == inode && entry.ChangeTicks == changeTicks)
        {
            _used[path] = entry;
            return entry.Sha256;
        }

        return null;
    }

    public void Remember(string path, long size, DateTime modifiedUtc, ulong inode, long changeTicks, string sha256) =>
        _used[path] = _known[path] = new CachedHash(path, size, modifiedUtc.Ticks, inode, changeTicks, sha256);

    public void Save()
    {
        var roots = _roots.ToArray();
        var kept = _known.Values
            .Where(e => _used.ContainsKey(e.Path) || !roots.Any(r => e.Path.StartsWith(r, StringComparison.Ordinal)))
            .OrderBy(e => e.Path, StringComparer.Ordinal)
            .ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_file))!);
        var temporary = _file + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            JsonSerializer.Serialize(stream, kept, HashCacheJson.Default.ListCachedHash);
        }

        File.Move(temporary, _file, overwrite: true);
    }
}

public sealed record CachedHash(string Path, long Size, long ModifiedTicks, ulong Inode, long ChangeTicks, string Sha256);

[JsonSerializable(typeof(List<CachedHash>))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class HashCacheJson : JsonSerializerContext;
