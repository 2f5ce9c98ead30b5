using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;
using SecureXfer.Api.Hosting;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

internal static class ServerEndpoints
{
    public static void MapServerEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/health", async (Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService health, HttpContext http) =>
            {
                var report = await health.CheckHealthAsync(http.RequestAborted);
                http.Response.StatusCode = report.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                    ? StatusCodes.Status200OK
                    : StatusCodes.Status503ServiceUnavailable;
                await HealthChecks.WriteAsync(http, report);
            })
            .Produces(StatusCodes.Status200OK, contentType: "text/plain")
            .Produces(StatusCodes.Status503ServiceUnavailable, contentType: "application/json")
            .WithName("Health")
            .WithTags("Server")
            .WithSummary("Readiness: 200 `ok` when the database answers and the data directory has room; 503 with the failing check otherwise.")
            .AllowAnonymous();

        routes.MapGet("/health/live", () => TypedResults.Text("ok"))
            .WithName("Liveness")
            .WithTags("Server")
            .WithSummary("Liveness: 200 while the process serves requests.")
            .AllowAnonymous();

        routes.MapGet("/metrics", (PrometheusExporter exporter) => TypedResults.Text(exporter.Render(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("Metrics")
            .WithTags("Server")
            .WithSummary("Prometheus text format: transfers, bytes, SXP sessions, logins, HTTP request durations, connections.")
            .AllowAnonymous();

        routes.MapGet("/api/v1/server", (StartupState state) =>
                TypedResults.Ok(new ServerInfo(typeof(Program).Assembly.GetName().Version?.ToString() ?? "0", ((IPEndPoint)state.Sxp!.EndPoint).Port, SxpLimits.Version)))
            .WithName("ServerInfo")
            .WithTags("Server")
            .WithSummary("Version and the SXP port, so a client can connect for transfers.")
            .AllowAnonymous();
    }
}

