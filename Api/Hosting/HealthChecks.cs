using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;

namespace SecureXfer.Api.Hosting;

/// <summary>Ready means the database answers and the data directory's file system has room.</summary>
internal static class HealthChecks
{
    public static void AddSecureXferHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database")
            .AddCheck<DiskSpaceCheck>("disk");

    /// <summary>Healthy: <c>ok</c>, as load balancers like it. Otherwise 503 and which check failed, without internals.</summary>
    public static Task WriteAsync(HttpContext http, HealthReport report)
    {
        if (report.Status == HealthStatus.Healthy)
        {
            http.Response.ContentType = "text/plain";
            return http.Response.WriteAsync("ok");
        }

        http.Response.ContentType = "application/json";
        var checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString().ToLowerInvariant(), description = e.Value.Description });
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { status = report.Status.ToString().ToLowerInvariant(), checks }));
    }

    private sealed class DatabaseCheck(IDbContextFactory<SecureXferDbContext> dbFactory) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                return await db.Database.CanConnectAsync(cancellationToken) && await db.Users.AnyAsync(cancellationToken)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("The database has no users.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("The database cannot be read.");
            }
        }
    }

    private sealed class DiskSpaceCheck(DataDirectory data, IOptions<SecureXferOptions> options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var free = new DriveInfo(data.Root).AvailableFreeSpace;
            var needed = options.Value.MinFreeDiskBytes;
            return Task.FromResult(free >= needed
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"Only {free} bytes free in the data directory's file system; at least {needed} are needed."));
        }
    }
}
