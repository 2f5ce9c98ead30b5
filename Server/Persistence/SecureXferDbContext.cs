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

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<UserAccount>(user =>
        {
            user.ToTable("users");
            user.HasKey(u => u.Id);
            user.Property(u => u.Id).HasColumnName("id");
            user.Property(u => u.Username).HasColumnName("username");
            user.Property(u => u.PasswordHash).HasColumnName("password_hash");
            user.Property(u => u.Role).HasColumnName("role");
            user.Property(u => u.QuotaBytes).HasColumnName("quota_bytes");
            user.Property(u => u.Disabled).HasColumnName("disabled");
            user.Property(u => u.SecurityStamp).HasColumnName("security_stamp");
            user.Property(u => u.CreatedAt).HasColumnName("created_at");
            user.Property(u => u.DisplayName).HasColumnName("display_name");
            user.Property(u => u.Version).HasColumnName("version");
            user.Property(u => u.UpdatedAt).HasColumnName("updated_at");
            user.HasIndex(u => u.Username).IsUnique();
        });

        modelBuilder.Entity<FileRecord>(file =>
        {
            file.ToTable("files");
            file.HasKey(f => new { f.OwnerId, f.Path });
            file.Property(f => f.OwnerId).HasColumnName("owner_id");
            file.Property(f => f.Path).HasColumnName("path");
            file.Property(f => f.Size).HasColumnName("size");
            file.Property(f => f.Sha256).HasColumnName("sha256");
            file.Property(f => f.ModifiedTicks).HasColumnName("modified_ticks");
        });

        modelBuilder.Entity<UploadSessionRecord>(upload =>
        {
            upload.ToTable("upload_sessions");
            upload.HasKey(u => u.Id);
            upload.Property(u => u.Id).HasColumnName("id");
            upload.Property(u => u.OwnerId).HasColumnName("owner_id");
            upload.Property(u => u.Path).HasColumnName("path");
            upload.Property(u => u.Size).HasColumnName("size");
            upload.Property(u => u.ChunkSize).HasColumnName("chunk_size");
            upload.Property(u => u.ReplaceExisting).HasColumnName("replace_existing");
            upload.Property(u => u.CreatedAt).HasColumnName("created_at");
            upload.Property(u => u.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<UploadChunkRecord>(chunk =>
        {
            chunk.ToTable("upload_chunks");
            chunk.HasKey(c => new { c.UploadId, c.ChunkIndex });
            chunk.Property(c => c.UploadId).HasColumnName("upload_id");
            chunk.Property(c => c.ChunkIndex).HasColumnName("chunk_index");
            chunk.Property(c => c.Crc32C).HasColumnName("crc32c");
        });
    }
}
