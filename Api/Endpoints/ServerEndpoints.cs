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
        routes.MapGet("/health", () => TypedResults.Text("ok"))
            .WithName("Health")
            .WithSummary("Liveness: 200 while the server runs.")
            .AllowAnonymous();

        routes.MapGet("/api/v1/server", (StartupState state) =>
                TypedResults.Ok(new ServerInfo(typeof(Program).Assembly.GetName().Version?.ToString() ?? "0", ((IPEndPoint)state.Sxp!.EndPoint).Port, SxpLimits.Version)))
            .WithName("ServerInfo")
            .WithTags("Server")
            .WithSummary("Version and the SXP port, so a client can connect for transfers.")
            .AllowAnonymous();
    }
}

