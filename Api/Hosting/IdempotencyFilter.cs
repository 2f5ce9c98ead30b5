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

        // The key is reserved first (status 0), so a retry that arrives while the first request
        // still runs waits for it instead of running the operation a second time.
        await using (var db = await dbFactory.CreateDbContextAsync(http.RequestAborted))
        {
            await db.Idempotency.Where(r => r.CreatedAt < now - (long)Keep.TotalMilliseconds).ExecuteDeleteAsync(http.RequestAborted);
            db.Idempotency.Add(new IdempotencyRecord { UserId = user.Id, Key = key, Route = route, RequestMac = mac, Status = 0, Body = string.Empty, CreatedAt = now });
            try
            {
                await db.SaveChangesAsync(http.RequestAborted);
            }
            catch (DbUpdateException)
            {
                return await ReplayAsync(http, dbFactory, user.Id, key, route, mac);
            }
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await ForgetAsync(dbFactory, user.Id, key);
            throw;
        }

        var inner = result is INestedHttpResult nested ? nested.Result : result;
        if (inner is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 } success && inner is IValueHttpResult { Value: { } value })
        {
            var body = JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web) as JsonObject;
            foreach (var field in redact)
            {
                if (body is not null && body.ContainsKey(field))
                {
                    body[field] = null;
                }
            }

            var status = success.StatusCode ?? StatusCodes.Status200OK;
            var location = inner.GetType().GetProperty("Location")?.GetValue(inner) as string;
            var text = body?.ToJsonString(JsonSerializerOptions.Web) ?? "null";
            await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
            await db.Idempotency.Where(r => r.UserId == user.Id && r.Key == key)
                .ExecuteUpdateAsync(r => r.SetProperty(x => x.Status, status).SetProperty(x => x.Location, location).SetProperty(x => x.Body, text), CancellationToken.None);
        }
        else
        {
            // A refusal is not stored: the same key may carry the corrected request.
            await ForgetAsync(dbFactory, user.Id, key);
        }

        return result;
    }

    private static async Task<IResult> ReplayAsync(HttpContext http, IDbContextFactory<SecureXferDbContext> dbFactory, long userId, string key, string route, string mac)
    {
        await using var db = await dbFactory.CreateDbContextAsync(http.RequestAborted);
        var stored = await db.Idempotency.AsNoTracking().SingleOrDefaultAsync(r => r.UserId == userId && r.Key == key, http.RequestAborted);
        if (stored is not null && (stored.Route != route || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored.RequestMac), Encoding.ASCII.GetBytes(mac))))
        {
            return Results.Problem(title: "Idempotency-Key reused", detail: "This Idempotency-Key was used for a different request.", statusCode: StatusCodes.Status422UnprocessableEntity);
        }

        if (stored is null || stored.Status == 0)
        {
            http.Response.Headers.RetryAfter = "1";
            return Results.Problem(title: "Request in progress", detail: "A request with this Idempotency-Key is still running; retry shortly.", statusCode: StatusCodes.Status409Conflict);
        }

        http.Response.Headers["Idempotent-Replayed"] = "true";
        if (stored.Location is not null)
        {
            http.Response.Headers.Location = stored.Location;
        }

        return Results.Content(stored.Body, "application/json", Encoding.UTF8, stored.Status);
    }

    private static async Task ForgetAsync(IDbContextFactory<SecureXferDbContext> dbFactory, long userId, string key)
    {
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        await db.Idempotency.Where(r => r.UserId == userId && r.Key == key && r.Status == 0).ExecuteDeleteAsync(CancellationToken.None);
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
