using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Protocol;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;

namespace SecureXfer.Server.Hosting;

public static class ServerServiceCollectionExtensions
{
    /// <summary>The engine: storage, persistence, accounts and the SXP connection handler, over one data directory and one database.</summary>
    public static IServiceCollection AddSecureXferServer(this IServiceCollection services, DataDirectory data, Database database)
    {
        services.AddSingleton(data);
        services.AddSingleton(database);
        services.AddSingleton<ServerInstance>();
        services.AddSingleton<RunningMarkers>();
        services.AddSingleton<ClusterLocks>();
        services.AddSingleton(TimeProvider.System);
        services.AddPooledDbContextFactory<SecureXferDbContext>(database.Configure);
        services.AddSingleton(sp => new PasswordHasher(sp.GetRequiredService<IOptions<SecureXferOptions>>().Value.BcryptCost));
        services.AddMetrics();
        services.AddSingleton<Observability.ServerMetrics>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<CredentialService>();
        services.AddSingleton<LoginGuard>();
        services.AddSingleton<Audit.AuditLog>();
        services.AddSingleton<Diagnostics.CrashPoints>();
        services.AddSingleton<UserRoots>();
        services.AddSingleton<DiskSpace>();
        services.AddSingleton<StorageReconciler>();
        services.AddSingleton<FileService>();
        services.AddSingleton<UploadService>();
        services.AddSingleton<UserAdminService>();
        services.AddSingleton<Remotes.NetworkGuard>();
        services.AddSingleton<Remotes.RemoteService>();
        services.AddSingleton<Jobs.JobService>();
        services.AddHostedService<Jobs.JobScheduler>();
        services.AddHostedService<AbandonedUploadSweeper>();
        services.AddSingleton<SessionLimits>();
        services.AddSingleton<SxpConnectionHandler>();
        return services;
    }
}
