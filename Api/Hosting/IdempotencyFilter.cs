using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// Honours <c>Idempotency-Key</c> on create operations: the first request with a key runs and its
/// answer is stored for a day; the same request again (same user, key, route and body) gets that
/// answer replayed instead of creating a second object; a different request under the same key
/// is 422. Bodies are compared by an HMAC (they may carry passwords); fields named in
/// <c>redact</c> (secrets shown once) are stored as null, so a replay does not show them again.
/// </summary>
internal sealed class IdempotencyFilter(params string[] redact) : IEndpointFilter
{
    private static readonly TimeSpan Keep = TimeSpan.FromDays(1);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (string.IsNullOrEmpty(key) || http.Items[typeof(AuthenticatedUser)] is not AuthenticatedUser user)
        {
            return await next(context);
        }

        if (key.Length > 200 || key.Any(char.IsControl))
        {
            return Results.Problem(title: "Invalid request", detail: "Idempotency-Key has at most 200 printable characters.", statusCode: StatusCodes.Status400BadRequest);
        }

        var route = http.Request.Method + " " + http.Request.Path;
        var mac = RequestMac(http, context.Arguments);
        var dbFactory = http.RequestServices.GetRequiredService<IDbContextFactory<SecureXferDbContext>>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using (var db = await dbFactory.CreateDbContextAsync(http.RequestAborted))
        {
            await db.Idempotency.Where(r => r.CreatedAt < now - (long)Keep.TotalMilliseconds).ExecuteDeleteAsync(http.RequestAborted);
            var stored = await db.Idempotency.AsNoTracking().SingleOrDefaultAsync(r => r.UserId == user.Id && r.Key == key, http.RequestAborted);
            if (stored is not null)
            {
                if (stored.Route != route || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored.RequestMac), Encoding.ASCII.GetBytes(mac)))
                {
                    return Results.Problem(title: "Idempotency-Key reused", detail: "This Idempotency-Key was used for a different request.", statusCode: StatusCodes.Status422UnprocessableEntity);
                }

                http.Response.Headers["Idempotent-Replayed"] = "true";
                if (stored.Location is not null)
                {
                    http.Response.Headers.Location = stored.Location;
                }

                return Results.Content(stored.Body, "application/json", Encoding.UTF8, stored.Status);
            }
        }

        var result = await next(context);
        if (result is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 } success && result is IValueHttpResult { Value: { } value })
        {
            var body = JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web) as JsonObject;
            foreach (var field in redact)
            {
                if (body is not null && body.ContainsKey(field))
                {
                    body[field] = null;
                }
            }

            await using var db = await dbFactory.CreateDbContextAsync(http.RequestAborted);
            db.Idempotency.Add(new IdempotencyRecord
            {
                UserId = user.Id,
                Key = key,
                Route = route,
                RequestMac = mac,
                Status = success.StatusCode ?? 200,
                Location = result.GetType().GetProperty("Location")?.GetValue(result) as string,
                Body = body?.ToJsonString(JsonSerializerOptions.Web) ?? "null",
                CreatedAt = now,
            });
            try
            {
                await db.SaveChangesAsync(http.RequestAborted);
            }
            catch (DbUpdateException)
            {
                // Two requests with the same key raced; the first stored answer stands.
            }
        }

        return result;
    }

    /// <summary>HMAC-SHA256 of the request's JSON arguments, keyed from the server's signing key.</summary>
    private static string RequestMac(HttpContext http, IList<object?> arguments)
    {
        var tokens = http.RequestServices.GetRequiredService<TokenService>();
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, tokens.SigningKey.Key, 32, info: "securexfer idempotency"u8.ToArray());
        var payload = JsonSerializer.SerializeToUtf8Bytes(
            arguments.Where(a => a is not null && a is not HttpContext && a is not CancellationToken && a.GetType().Namespace?.StartsWith("SecureXfer.Shared", StringComparison.Ordinal) == true).ToArray(),
            JsonSerializerOptions.Web);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, payload));
    }
}
