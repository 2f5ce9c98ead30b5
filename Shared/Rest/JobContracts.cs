using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureXfer.Shared.Rest;

/// <summary>
/// A scheduled sync between <c>localPath</c> in the owner's SecureXfer space and <c>remotePath</c>
/// on one of the owner's remotes. <c>direction</c> is <c>push</c> (space to remote) or <c>pull</c>.
/// <c>cron</c> is a crontab expression (five fields) or Quartz's (six or seven), in UTC.
/// </summary>
public sealed record JobResponse(
    string Id,
    long OwnerId,
    string Name,
    string RemoteId,
    string RemotePath,
    string LocalPath,
    string Direction,
    string Cron,
    bool Delete,
    int MaxDelete,
    IReadOnlyList<string> Excludes,
    IReadOnlyList<string> Includes,
    bool Enabled,
    DateTimeOffset? NextRunAt,
    bool Running,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A new job, or (for PATCH) the fields to change.</summary>
public sealed record JobRequest(
    string? Name,
    string? RemoteId,
    string? RemotePath,
    string? LocalPath,
    string? Direction,
    string? Cron,
    bool? Delete,
    int? MaxDelete,
    IReadOnlyList<string>? Excludes,
    IReadOnlyList<string>? Includes,
    bool? Enabled);

/// <summary>One run: when, why (<c>schedule</c>, <c>manual</c>, <c>missed</c>), how it ended, and what it moved.</summary>
public sealed record JobRunResponse(
    long Id,
    string Trigger,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    string Status,
    int Copied,
    int Updated,
    int Deleted,
    int Unchanged,
    long Bytes,
    IReadOnlyList<string> Errors);

public sealed record JobListResponse(IReadOnlyList<JobResponse> Items);

public sealed record JobRunListResponse(IReadOnlyList<JobRunResponse> Items);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(JobResponse))]
[JsonSerializable(typeof(JobRequest))]
[JsonSerializable(typeof(JobListResponse))]
[JsonSerializable(typeof(JobRunListResponse))]
public sealed partial class JobJsonContext : JsonSerializerContext;
