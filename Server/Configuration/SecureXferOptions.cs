namespace SecureXfer.Server.Configuration;

/// <summary>The settings under the <c>SecureXfer</c> configuration section.</summary>
public sealed class SecureXferOptions
{
    public const string Section = "SecureXfer";

    public string DataDir { get; set; } = "./data";

    public string Bind { get; set; } = "127.0.0.1";

    public int HttpsPort { get; set; } = 8443;

    public int SxpPort { get; set; } = 7443;

    /// <summary>PEM certificate to serve; with none, a self-signed one is generated in the data directory.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key for <see cref="CertificatePath"/>, when it is not in the same file.</summary>
    public string? CertificateKeyPath { get; set; }

    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a refresh token may be used (each use issues a new one with a fresh lifetime).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    public string Issuer { get; set; } = "securexfer";

    public string Audience { get; set; } = "securexfer";

    /// <summary>Chunks a connection may have in flight per upload.</summary>
    public int UploadWindow { get; set; } = 8;

    /// <summary>An SXP connection that sends nothing for this long is closed.</summary>
    public TimeSpan SxpIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>An SXP connection must have authenticated this long after it was accepted.</summary>
    public TimeSpan SxpAuthTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Held chunks listed per UPLOAD_READY frame when a large upload resumes (more follow with the MORE flag).</summary>
    public int HeldChunksPerFrame { get; set; } = 65536;

    /// <summary>Login attempts allowed per client address per minute; more get 429 with Retry-After.</summary>
    public int LoginsPerMinute { get; set; } = 30;

    /// <summary>Failed logins of one account, within <see cref="LoginFailureWindow"/>, that lead to a temporary ban of the account.</summary>
    public int LoginFailuresPerAccount { get; set; } = 5;

    /// <summary>Failed logins from one client address, within <see cref="LoginFailureWindow"/>, that lead to a temporary ban of the address.</summary>
    public int LoginFailuresPerAddress { get; set; } = 20;

    /// <summary>How long failures are counted before the count starts over.</summary>
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The first ban's length; each further ban of the same account or address lasts twice as long (at most a day).</summary>
    public TimeSpan LoginBanBase { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Networks that remotes may point to although they are loopback, link-local or private
    /// (comma-separated CIDRs, e.g. "10.0.0.0/8,127.0.0.1/32"). Empty: only public addresses.
    /// </summary>
    public string RemoteAllowedNetworks { get; set; } = string.Empty;

    /// <summary>Most connections (REST and SXP together) served at once.</summary>
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Most SXP connections one client address (IPv6: one /64) may hold open, authenticated or not.</summary>
    public int SxpConnectionsPerAddress { get; set; } = 256;

    /// <summary>Most SXP sessions one account may hold open at once.</summary>
    public int SxpSessionsPerUser { get; set; } = 64;

    /// <summary>An upload nobody has sent to for this long is discarded, with its staged data and its quota reservation.</summary>
    public TimeSpan AbandonedUploadAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often abandoned uploads are looked for.</summary>
    public TimeSpan AbandonedUploadSweep { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often a long-lived SXP connection re-checks that its account is still enabled and unchanged.</summary>
    public TimeSpan AccountRecheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Write staged uploads (and read large downloads that are not cached) unbuffered, with O_DIRECT,
    /// where the file system allows it. Uploads are flushed to disk before they are acknowledged, so
    /// this skips a copy through the page cache. Turn off for file systems with unusual O_DIRECT rules.
    /// </summary>
    public bool DirectIo { get; set; } = true;

    /// <summary>Largest body <c>PUT /api/v1/files/content</c> accepts; larger files go over SXP.</summary>
    public long HttpUploadMaxBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Below this much free space in the data directory's file system, <c>/health</c> reports not ready.</summary>
    public long MinFreeDiskBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Free space in the data directory's file system that uploads may not use: it stays for the
    /// database, commits and logs, so logins and downloads keep working when uploads fill the disk.
    /// </summary>
    public long StorageReserveBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>bcrypt work factor for new password hashes.</summary>
    public int BcryptCost { get; set; } = 12;

    /// <summary>
    /// For fault-injection tests only: the server kills itself (SIGKILL) when it reaches this step of
    /// a write ("upload.renamed", or "upload.chunk-written@3" for the third time). Empty in any real deployment.
    /// </summary>
    public string? CrashAt { get; set; }
}
