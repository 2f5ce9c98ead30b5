namespace SecureXfer.Server.Persistence;

/// <summary>Roles a user may hold.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string User = "user";
    public const string Auditor = "auditor";

    public static bool IsKnown(string role) => role is Admin or User or Auditor;
}

public sealed class UserAccount
{
    public long Id { get; set; }

    public required string Username { get; set; }

    public required string PasswordHash { get; set; }

    public string Role { get; set; } = Roles.User;

    /// <summary>Bytes the user may store; null for no limit.</summary>
    public long? QuotaBytes { get; set; }

    public bool Disabled { get; set; }

    /// <summary>Changes whenever credentials or standing change; tokens carrying an older stamp are refused.</summary>
    public required string SecurityStamp { get; set; }

    public long CreatedAt { get; set; }

    /// <summary>A name for people, shown beside the username; optional.</summary>
    public string? DisplayName { get; set; }

    /// <summary>Bumped by every change; the user's ETag.</summary>
    public long Version { get; set; } = 1;

    public long UpdatedAt { get; set; }
}

/// <summary>What the server recorded about a committed file: its size, modification time and SHA-256.</summary>
public sealed class FileRecord
{
    public long OwnerId { get; set; }

    public required string Path { get; set; }

    public long Size { get; set; }

    public required string Sha256 { get; set; }

    /// <summary>The file's modification time (UTC ticks) when the hash was recorded; a different one means the record is stale.</summary>
    public long ModifiedTicks { get; set; }
}

/// <summary>A staged upload. Its row is the quota reservation; its chunks are what has arrived.</summary>
public sealed class UploadSessionRecord
{
    public required string Id { get; set; }

    public long OwnerId { get; set; }

    public required string Path { get; set; }

    public long Size { get; set; }

    public int ChunkSize { get; set; }

    public bool ReplaceExisting { get; set; }

    public long CreatedAt { get; set; }

    public long UpdatedAt { get; set; }
}

public sealed class UploadChunkRecord
{
    public required string UploadId { get; set; }

    public int ChunkIndex { get; set; }

    /// <summary>CRC32C of the chunk as received, held as a signed 64-bit value for SQLite.</summary>
    public long Crc32C { get; set; }
}

/// <summary>
/// A refresh token: single use. Using it issues a new one in the same family; using one twice
/// revokes the whole family (it was copied). Only a hash of its secret is stored.
/// </summary>
public sealed class RefreshTokenRecord
{
    public required string Id { get; set; }

    public required string FamilyId { get; set; }

    public long UserId { get; set; }

    public required string SecretHash { get; set; }

    /// <summary>The user's security stamp when issued: a password change or disable ends the family.</summary>
    public required string Stamp { get; set; }

    public long CreatedAt { get; set; }

    public long ExpiresAt { get; set; }

    public long? UsedAt { get; set; }

    public long? RevokedAt { get; set; }
}

/// <summary>An API key for automation: shown once at creation, stored as a hash, revocable.</summary>
public sealed class ApiKeyRecord
{
    public required string Id { get; set; }

    public long UserId { get; set; }

    public required string Name { get; set; }

    public required string SecretHash { get; set; }

    public long CreatedAt { get; set; }

    public long? ExpiresAt { get; set; }

    public long? LastUsedAt { get; set; }

    public long? RevokedAt { get; set; }
}

/// <summary>
/// One audit record. Each carries the hash of the one before, so any change to a stored record
/// (or a removed one) breaks the chain from that point on.
/// </summary>
public sealed class AuditRecord
{
    public long Seq { get; set; }

    public long At { get; set; }

    public long? ActorId { get; set; }

    public string? Actor { get; set; }

    public required string Action { get; set; }

    public string? Target { get; set; }

    public string? Source { get; set; }

    public required string Outcome { get; set; }

    public string? Detail { get; set; }

    public required string PrevHash { get; set; }

    public required string Hash { get; set; }
}

/// <summary>Failed logins of one account or one client address, and the ban they led to.</summary>
public sealed class LoginBanRecord
{
    /// <summary><c>account</c> or <c>address</c>.</summary>
    public required string Kind { get; set; }

    /// <summary>The lower-cased username, or the address.</summary>
    public required string Subject { get; set; }

    /// <summary>Failures since <see cref="WindowStart"/>.</summary>
    public int Failures { get; set; }

    public long WindowStart { get; set; }

    public long? BannedUntil { get; set; }

    /// <summary>Bans so far: each one lasts twice as long as the one before.</summary>
    public int BanCount { get; set; }
}

/// <summary>
/// The stored answer to a create request sent with an Idempotency-Key, replayed when the same
/// request comes again. The request is kept only as a keyed MAC (it may hold a password).
/// </summary>
public sealed class IdempotencyRecord
{
    public long UserId { get; set; }

    public required string Key { get; set; }

    public required string Route { get; set; }

    public required string RequestMac { get; set; }

    public int Status { get; set; }

    public string? Location { get; set; }

    public required string Body { get; set; }

    public long CreatedAt { get; set; }
}

/// <summary>An access token ended early (logout) before its expiry; kept until then.</summary>
public sealed class RevokedTokenRecord
{
    public required string Jti { get; set; }

    public long ExpiresAt { get; set; }
}

/// <summary>A user's connection profile for another server. The secrets are Data Protection ciphertext.</summary>
public sealed class RemoteRecord
{
    public required string Id { get; set; }

    public long OwnerId { get; set; }

    public required string Name { get; set; }

    public required string Kind { get; set; }

    public required string Host { get; set; }

    public int Port { get; set; }

    public required string User { get; set; }

    public string? PasswordProtected { get; set; }

    public string? PrivateKeyProtected { get; set; }

    public string? HostKey { get; set; }

    public string? TlsFingerprint { get; set; }

    public string? TlsName { get; set; }

    public long CreatedAt { get; set; }

    public long UpdatedAt { get; set; }
}

/// <summary>A scheduled sync between a directory of the owner's space and a directory on one of their remotes.</summary>
public sealed class JobRecord
{
    public required string Id { get; set; }

    public long OwnerId { get; set; }

    public required string Name { get; set; }

    public required string RemoteId { get; set; }

    public required string RemotePath { get; set; }

    public required string LocalPath { get; set; }

    /// <summary><c>push</c> (the owner's space to the remote) or <c>pull</c>.</summary>
    public required string Direction { get; set; }

    public required string Cron { get; set; }

    public bool DeleteExtra { get; set; }

    public int MaxDelete { get; set; }

    /// <summary>JSON arrays of glob patterns.</summary>
    public string Excludes { get; set; } = "[]";

    public string Includes { get; set; } = "[]";

    public bool Enabled { get; set; } = true;

    /// <summary>When the next run is due (Unix ms); null when the schedule has no more.</summary>
    public long? NextRunAt { get; set; }

    /// <summary>A run holds the job until then (Unix ms), so no second run starts, on this instance or another.</summary>
    public long? LeaseUntil { get; set; }

    public string? LeaseOwner { get; set; }

    public long CreatedAt { get; set; }

    public long UpdatedAt { get; set; }
}

/// <summary>One run of a job, kept as history.</summary>
public sealed class JobRunRecord
{
    public long Id { get; set; }

    public required string JobId { get; set; }

    /// <summary><c>schedule</c>, <c>manual</c> or <c>missed</c> (due while the server was down).</summary>
    public required string Trigger { get; set; }

    public long StartedAt { get; set; }

    public long? EndedAt { get; set; }

    /// <summary><c>running</c>, <c>ok</c>, <c>failed</c> or <c>interrupted</c> (the server stopped during the run).</summary>
    public required string Status { get; set; }

    public int Copied { get; set; }

    public int Updated { get; set; }

    public int Deleted { get; set; }

    public int Unchanged { get; set; }

    public long Bytes { get; set; }

    /// <summary>A JSON array of messages.</summary>
    public string Errors { get; set; } = "[]";
}
