using Microsoft.EntityFrameworkCore;

namespace SecureXfer.Server.Persistence;

/// <summary>
/// The metadata store. The schema itself is owned by <see cref="SchemaMigrator"/>; this
/// context only maps onto it.
/// </summary>
public sealed class SecureXferDbContext(DbContextOptions<SecureXferDbContext> options) : DbContext(options)
{
    public DbSet<UserAccount> Users => Set<UserAccount>();

    public DbSet<FileRecord> Files => Set<FileRecord>();

    public DbSet<UploadSessionRecord> UploadSessions => Set<UploadSessionRecord>();

    public DbSet<UploadChunkRecord> UploadChunks => Set<UploadChunkRecord>();

    public DbSet<RefreshTokenRecord> RefreshTokens => Set<RefreshTokenRecord>();

    public DbSet<ApiKeyRecord> ApiKeys => Set<ApiKeyRecord>();

    public DbSet<RevokedTokenRecord> RevokedTokens => Set<RevokedTokenRecord>();

    public DbSet<AuditRecord> Audit => Set<AuditRecord>();

    public DbSet<LoginBanRecord> LoginBans => Set<LoginBanRecord>();

    public DbSet<IdempotencyRecord> Idempotency => Set<IdempotencyRecord>();

    public DbSet<RemoteRecord> Remotes => Set<RemoteRecord>();

    public DbSet<JobRecord> Jobs => Set<JobRecord>();

    public DbSet<JobRunRecord> JobRuns => Set<JobRunRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<UserAccount>(user =>
        {
            user.ToTable("users");
            user.HasKey(u => u.Id);
            user.HasIndex(u => u.Username).IsUnique();
        });

        modelBuilder.Entity<FileRecord>(file =>
        {
            file.ToTable("files");
            file.HasKey(f => new { f.OwnerId, f.Path });
        });

        modelBuilder.Entity<UploadSessionRecord>(upload =>
        {
            upload.ToTable("upload_sessions");
            upload.HasKey(u => u.Id);
        });

        modelBuilder.Entity<UploadChunkRecord>(chunk =>
        {
            chunk.ToTable("upload_chunks");
            chunk.HasKey(c => new { c.UploadId, c.ChunkIndex });
        });

        modelBuilder.Entity<RefreshTokenRecord>(token =>
        {
            token.ToTable("refresh_tokens");
            token.HasKey(t => t.Id);
        });

        modelBuilder.Entity<JobRecord>(job =>
        {
            job.ToTable("jobs");
            job.HasKey(j => j.Id);
        });

        modelBuilder.Entity<JobRunRecord>(run =>
        {
            run.ToTable("job_runs");
            run.HasKey(r => r.Id);
        });

        modelBuilder.Entity<RemoteRecord>(remote =>
        {
            remote.ToTable("remotes");
            remote.HasKey(r => r.Id);
        });

        modelBuilder.Entity<ApiKeyRecord>(key =>
        {
            key.ToTable("api_keys");
            key.HasKey(k => k.Id);
        });

        modelBuilder.Entity<AuditRecord>(audit =>
        {
            audit.ToTable("audit_log");
            audit.HasKey(a => a.Seq);
            audit.Property(a => a.Seq).ValueGeneratedNever();
        });

        modelBuilder.Entity<LoginBanRecord>(ban =>
        {
            ban.ToTable("login_bans");
            ban.HasKey(b => new { b.Kind, b.Subject });
        });

        modelBuilder.Entity<IdempotencyRecord>(record =>
        {
            record.ToTable("idempotency_keys");
            record.HasKey(r => new { r.UserId, r.Key });
        });

        modelBuilder.Entity<RevokedTokenRecord>(revoked =>
        {
            revoked.ToTable("revoked_tokens");
            revoked.HasKey(r => r.Jti);
        });

        // Columns are the properties in snake_case (PasswordHash -> password_hash, Crc32C -> crc32c).
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            property.SetColumnName(SnakeCase(property.Name));
        }
    }

    private static string SnakeCase(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && char.IsLower(name[i - 1]))
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }
}
