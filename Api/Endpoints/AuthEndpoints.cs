using Microsoft.AspNetCore.Http.HttpResults;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Accounts;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

internal static class AuthEndpoints
{
    public static void MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        var auth = routes.MapGroup("/api/v1/auth").WithTags("Auth");
        auth.MapPost("/login", LoginAsync)
            .WithName("Login")
            .WithSummary("Exchange a username and password for a short-lived access token.")
            .RequireRateLimiting(SecureXferHostExtensions.LoginRateLimit)
            .AllowAnonymous();
    }

    /// <summary>Unknown user, wrong password and disabled account give the same answer, in the same time.</summary>
    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> LoginAsync(LoginRequest request, AccountService accounts, CancellationToken cancellationToken)
    {
        var result = await accounts.LoginAsync(request.Username, request.Password, cancellationToken);
        if (result is not { } issued)
        {
            return TypedResults.Problem(
                title: "Login failed",
                detail: "Invalid username or password.",
                statusCode: StatusCodes.Status401Unauthorized);
        }

        return TypedResults.Ok(new LoginResponse(issued.Token, issued.ExpiresAt));
    }
}
