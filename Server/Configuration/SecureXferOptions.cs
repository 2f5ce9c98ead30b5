namespace SecureXfer.Server.Configuration;

/// <summary>The settings under the <c>SecureXfer</c> configuration section.</summary>
public sealed class SecureXferOptions
{
    public const string Section = "SecureXfer";

    /// <summary>Longest duration a timer setting takes (timers count milliseconds in 32 bits): 24 days.</summary>
    private const long Timer = 24L * 24 * 3600;

    [Setting("database, files, staging, TLS certificate, signing keys, backups before upgrades", Switch = "--data-dir")]
    public string DataDir { get; set; } = "./data";

    [Setting("address of both listeners (an IP address, or localhost); binding beyond loopback is a deliberate choice", Switch = "--bind")]
    public string Bind { get; set; } = "127.0.0.1";

    [Setting("REST and Swagger UI; `0` picks a free port", Switch = "--https-port", Min = 0, Max = 65535)]
    public int HttpsPort { get; set; } = 8443;

    [Setting("SXP; `0` picks a free port", Switch = "--sxp-port", Min = 0, Max = 65535)]
    public int SxpPort { get; set; } = 7443;

    /// <summary>The certificate both listeners serve.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Where accounts, file records and sessions are kept.</summary>
    public DatabaseOptions Database { get; set; } = new();

    /// <summary>Console log format: <c>text</c> or <c>json</c>.</summary>
    [Setting("console log format: `text` (one line per event, with its scope: request, connection and transfer ids) or `json` (one JSON object per line)", Switch = "--log-format")]
    public string LogFormat { get; set; } = "text";

    /// <summary>On SIGTERM, how long requests and transfers get to reach a chunk boundary before connections are cut.</summary>
    [Setting("on SIGTERM or Ctrl-C, how long running requests and transfers get to reach a chunk boundary and save their state before connections are cut", MaxSeconds = Timer)]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    [Setting("access token lifetime")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a refresh token may be used (each use issues a new one with a fresh lifetime).</summary>
    [Setting("refresh token lifetime (each refresh issues a fresh one)")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    [Setting("issuer (`iss`) of the access tokens the server signs and accepts")]
    public string Issuer { get; set; } = "securexfer";

    [Setting("audience (`aud`) of the access tokens the server signs and accepts")]
    public string Audience { get; set; } = "securexfer";

    /// <summary>Chunks a connection may have in flight per upload.</summary>
    [Setting("chunks in flight per connection per upload", Min = 1, Max = 1024)]
    public int UploadWindow { get; set; } = 8;

    /// <summary>An SXP connection that sends nothing for this long is closed.</summary>
    [Setting("idle SXP connections are closed after this", MaxSeconds = Timer)]
    public TimeSpan SxpIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>An SXP connection must have authenticated this long after it was accepted.</summary>
    [Setting("an SXP connection must authenticate this long after it is accepted", MaxSeconds = Timer)]
    public TimeSpan SxpAuthTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Held chunks listed per UPLOAD_READY frame when a large upload resumes (more follow with the MORE flag).</summary>
    [Setting("held chunks listed per frame when a large upload resumes", Min = 1, Max = 1_000_000)]
    public int HeldChunksPerFrame { get; set; } = 65536;

    /// <summary>Login attempts allowed per client address per minute; more get 429 with Retry-After.</summary>
    [Setting("login attempts per client address per minute; more get 429 with `Retry-After`", Min = 1)]
    public int LoginsPerMinute { get; set; } = 30;

    /// <summary>Failed logins of one account, within <see cref="LoginFailureWindow"/>, that lead to a temporary ban of the account.</summary>
    [Setting("failed logins for one account name, within the window, that ban it", Min = 1)]
    public int LoginFailuresPerAccount { get; set; } = 5;

    /// <summary>Failed logins from one client address, within <see cref="LoginFailureWindow"/>, that lead to a temporary ban of the address.</summary>
    [Setting("failed logins from one client address, within the window, that ban it", Min = 1)]
    public int LoginFailuresPerAddress { get; set; } = 20;

    /// <summary>How long failures are counted before the count starts over.</summary>
    [Setting("how long failures are counted")]
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The first ban's length; each further ban of the same account or address lasts twice as long (at most a day).</summary>
    [Setting("the first ban's length; each repeat doubles it, up to a day")]
    public TimeSpan LoginBanBase { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Networks that remotes may point to although they are loopback, link-local or private
    /// (comma-separated CIDRs, e.g. "10.0.0.0/8,127.0.0.1/32"). Empty: only public addresses.
    /// </summary>
    [Setting("comma-separated CIDRs (e.g. `10.0.0.0/8,127.0.0.1/32`) that remotes may point to although loopback, link-local or private; empty: public addresses only")]
    public string RemoteAllowedNetworks { get; set; } = string.Empty;

    /// <summary>Most connections (REST and SXP together) served at once.</summary>
    [Setting("connections served at once (REST and SXP)", Min = 1)]
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Most SXP connections one client address (IPv6: one /64) may hold open, authenticated or not.</summary>
    [Setting("SXP connections one client address (IPv6: one /64) may hold open, authenticated or not; more get `Busy` and are closed", Min = 1)]
    public int SxpConnectionsPerAddress { get; set; } = 256;

    /// <summary>Most SXP sessions one account may hold open at once.</summary>
    [Setting("SXP sessions one account may hold open; more get `Busy` at AUTH", Min = 1)]
    public int SxpSessionsPerUser { get; set; } = 64;

    /// <summary>An upload nobody has sent to for this long is discarded, with its staged data and its quota reservation.</summary>
    [Setting("an upload nobody has sent to for this long is discarded (staged data and quota reservation)")]
    public TimeSpan AbandonedUploadAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often abandoned uploads are looked for.</summary>
    [Setting("how often abandoned uploads are looked for", MaxSeconds = Timer)]
    public TimeSpan AbandonedUploadSweep { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often a long-lived SXP connection re-checks that its account is still enabled and unchanged.</summary>
    [Setting("how often an open SXP connection re-checks that its account is enabled and unchanged", MaxSeconds = Timer)]
    public TimeSpan AccountRecheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Write staged uploads (and read large downloads that are not cached) unbuffered, with O_DIRECT,
    /// where the file system allows it. Uploads are flushed to disk before they are acknowledged, so
    /// this skips a copy through the page cache. Turn off for file systems with unusual O_DIRECT rules.
    /// </summary>
    [Setting("stage uploads and read uncached downloads unbuffered (`O_DIRECT`) where the file system allows; `false` for file systems with unusual `O_DIRECT` rules")]
    public bool DirectIo { get; set; } = true;

    /// <summary>Largest body <c>PUT /api/v1/files/content</c> accepts; larger files go over SXP.</summary>
    [Setting("largest body `PUT /api/v1/files/content` accepts (413 beyond); larger files go over SXP", Min = 1)]
    public long HttpUploadMaxBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Below this much free space in the data directory's file system, <c>/health</c> reports not ready.</summary>
    [Setting("below this much free space in the data directory's file system, `/health` answers 503", Min = 0)]
    public long MinFreeDiskBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Free space in the data directory's file system that uploads may not use: it stays for the
    /// database, commits and logs, so logins and downloads keep working when uploads fill the disk.
    /// </summary>
    [Setting("free space uploads may not use: kept for the database, commits and logs, so logins and downloads go on working when uploads fill the disk (uploads past it get `StorageFull` / 507)", Min = 0)]
    public long StorageReserveBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>bcrypt work factor for new password hashes.</summary>
    [Setting("bcrypt work factor for new passwords", Min = 4, Max = 31)]
    public int BcryptCost { get; set; } = 12;

    /// <summary>
    /// For fault-injection tests only: the server kills itself (SIGKILL) when it reaches this step of
    /// a write ("upload.renamed", or "upload.chunk-written@3" for the third time). Empty in any real deployment.
    /// </summary>
    [Setting("fault-injection tests only: the server kills itself (SIGKILL) at this step of a write (`upload.chunk-written`, `upload.verified`, `upload.renamed`, `upload.recording`, `put.renamed`, `put.recording`; `NAME@N` for the N-th time); never set it in a deployment")]
    public string? CrashAt { get; set; }
}

/// <summary>The <c>SecureXfer:Tls</c> settings.</summary>
public sealed class TlsOptions
{
    /// <summary>PEM certificate to serve; with none, a self-signed one is generated in the data directory.</summary>
    [Setting("PEM certificate to serve instead of the generated one; `certs/make-dev-certs.sh` makes one", Switch = "--cert", DefaultText = "generated")]
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key for <see cref="CertificatePath"/>, when it is not in the same file.</summary>
    [Setting("its PEM private key, if not in the certificate file", Switch = "--cert-key")]
    public string? KeyPath { get; set; }
}

/// <summary>The <c>SecureXfer:Database</c> settings.</summary>
public sealed class DatabaseOptions
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary><c>sqlite</c> (a file in the data directory) or <c>postgres</c>.</summary>
    [Setting("`sqlite` (the file `DATA/securexfer.db`, nothing to set up) or `postgres` (see PostgreSQL under Deploying)")]
    public string Provider { get; set; } = Sqlite;

    /// <summary>For <c>postgres</c>: the Npgsql connection string. It holds a password: never logged.</summary>
    [Setting("for `postgres`: an Npgsql connection string (`Host=db;Database=securexfer;Username=sx;Password=...`); keep it out of files others read")]
    public string? ConnectionString { get; set; }
}
