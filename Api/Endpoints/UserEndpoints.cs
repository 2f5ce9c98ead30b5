using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary>
/// <c>/api/v1/users</c> (admins change, admins and auditors read) and the caller's own account
/// under <c>/api/v1/me</c>. Updates carry an ETag (the user's version) and honour If-Match.
/// </summary>
internal static class UserEndpoints
{
    public static void MapUserEndpoints(this IEndpointRouteBuilder routes)
    {
        var users = routes.MapGroup("/api/v1/users").WithTags("Users");

        users.MapGet("/", ListAsync)
            .WithName("ListUsers")
            .WithSummary("List users, a page at a time, optionally filtered.")
            .WithDescription("`search` matches part of the username or display name; `role` and `disabled` filter exactly. Admins and auditors.")
            .RequireAuthorization(Policies.Reader);

        users.MapPost("/", CreateAsync)
            .WithName("CreateUser")
            .WithSummary("Create a user.")
            .WithDescription("`role` is `admin`, `user` (default) or `auditor`; `quotaBytes` null means no limit. Answers 201 with the user and its ETag; 409 when the username is taken. "
                + "With `Idempotency-Key`, the same request again replays the first answer (header `Idempotent-Replayed: true`) instead of failing or creating twice; another request under the same key is 422. Admins only.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .AddEndpointFilter(new IdempotencyFilter())
            .RequireAuthorization(Policies.Admin);

        users.MapGet("/{id:long}", GetAsync)
            .WithName("GetUser")
            .WithSummary("One user, with its ETag.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Reader);

        users.MapPatch("/{id:long}", UpdateAsync)
            .WithName("UpdateUser")
            .WithSummary("Change a user's role, quota, disabled flag or display name.")
            .WithDescription("Only the fields sent change; `quotaBytes: null` removes the quota. Send `If-Match` with the ETag from GET to refuse lost updates (412). Changing role or disabling ends the user's sessions. The last enabled admin cannot be demoted or disabled (409). Admins only.")
            .Accepts<UpdateUserRequest>("application/json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .RequireAuthorization(Policies.Admin);

        users.MapPost("/{id:long}/password", ResetPasswordAsync)
            .WithName("ResetUserPassword")
            .WithSummary("Set a new password for a user; their sessions end.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Admin);

        users.MapDelete("/{id:long}", DeleteAsync)
            .WithName("DeleteUser")
            .WithSummary("Delete a user together with their files, directories and uploads in progress.")
            .WithDescription("Nothing of the user is kept: their storage tree, file records and staged uploads are removed. The last enabled admin cannot be deleted (409). Admins only.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);

        var me = routes.MapGroup("/api/v1/me").WithTags("Me");
        me.MapGet("/", GetMeAsync)
            .WithName("Me")
            .WithSummary("The account behind the access token.")
            .RequireAuthorization();

        me.MapPost("/password", ChangeOwnPasswordAsync)
            .WithName("ChangeOwnPassword")
            .WithSummary("Change your own password; the current one confirms it. Every token issued before stops working.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .RequireAuthorization();
    }

    private static async Task<Ok<PageResponse<UserResponse>>> ListAsync(
        UserAdminService admin, CancellationToken cancellationToken,
        int page = 1, int pageSize = 50, string? search = null, string? role = null, bool? disabled = null)
    {
        var result = await admin.ListAsync(page, pageSize, search, role, disabled, cancellationToken);
        return TypedResults.Ok(new PageResponse<UserResponse>(result.Items.Select(ToResponse).ToList(), result.Total, result.PageNumber, result.PageSize));
    }

    private static async Task<Created<UserResponse>> CreateAsync(CreateUserRequest request, UserAdminService admin, HttpContext http, CancellationToken cancellationToken)
    {
        var user = await admin.CreateAsync(request.Username, request.Password, request.Role, request.QuotaBytes, request.DisplayName, cancellationToken);
        http.Audit("user.create", user.Username, detail: $"id {user.Id}, role {user.Role}");
        SetETag(http, user);
        return TypedResults.Created($"/api/v1/users/{user.Id}", ToResponse(user));
    }

    private static async Task<Ok<UserResponse>> GetAsync(long id, UserAdminService admin, HttpContext http, CancellationToken cancellationToken)
    {
        var user = await admin.GetAsync(id, cancellationToken);
        SetETag(http, user);
        return TypedResults.Ok(ToResponse(user));
    }

    private static async Task<Ok<UserResponse>> UpdateAsync(long id, HttpContext http, UserAdminService admin, CancellationToken cancellationToken)
    {
        var changes = await ReadChangesAsync(http.Request, cancellationToken);
        var user = await admin.UpdateAsync(id, changes, ExpectedVersion(http.Request), cancellationToken);
        http.Audit("user.update", user.Username, detail: Describe(changes));
        SetETag(http, user);
        return TypedResults.Ok(ToResponse(user));
    }

    private static async Task<NoContent> ResetPasswordAsync(long id, ResetPasswordRequest request, HttpContext http, UserAdminService admin, CancellationToken cancellationToken)
    {
        await admin.ResetPasswordAsync(id, request.Password, cancellationToken);
        http.Audit("user.password", $"id {id}", detail: "reset by an admin");
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> DeleteAsync(long id, HttpContext http, UserAdminService admin, CancellationToken cancellationToken)
    {
        await admin.DeleteAsync(id, cancellationToken);
        http.Audit("user.delete", $"id {id}", detail: "with their files");
        return TypedResults.NoContent();
    }

    private static async Task<Ok<UserResponse>> GetMeAsync(HttpContext http, UserAdminService admin, CancellationToken cancellationToken)
    {
        var user = await admin.GetAsync(http.ActingUser().Id, cancellationToken);
        SetETag(http, user);
        return TypedResults.Ok(ToResponse(user));
    }

    /// <summary>
    /// Confirming with the current password is a password check like a login, so it goes through
    /// the same guard: failures count against the account and the address, and a ban refuses it.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> ChangeOwnPasswordAsync(
        ChangePasswordRequest request, HttpContext http, UserAdminService admin, LoginGuard guard, CancellationToken cancellationToken)
    {
        var me = http.ActingUser();
        var address = LoginGuard.AddressOf(http.Connection.RemoteIpAddress);
        var counted = LoginGuard.PasswordChangeKey(me.Id);
        if (await guard.BannedUntilAsync(counted, address, cancellationToken) is { } until)
        {
            http.Audit("user.password", me.Username, outcome: "banned");
            return AuthEndpoints.Banned(http, until);
        }

        try
        {
            await admin.ChangeOwnPasswordAsync(me.Id, request.CurrentPassword, request.NewPassword, cancellationToken);
        }
        catch (AccountException refused) when (refused.Error == AccountError.WrongPassword)
        {
            http.Audit("user.password", me.Username, outcome: "failed");
            var delay = await guard.FailedAsync(counted, address, cancellationToken);
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken);
            }

            throw;
        }

        await guard.SucceededAsync(counted, cancellationToken);
        http.Audit("user.password", me.Username, detail: "changed by the user");
        return TypedResults.NoContent();
    }

    private static string Describe(UserChanges changes) => string.Join(", ", new[]
    {
        changes.Role is { } role ? $"role {role}" : null,
        changes.ClearQuota ? "quota none" : changes.QuotaBytes is { } quota ? $"quota {quota}" : null,
        changes.Disabled is { } disabled ? (disabled ? "disabled" : "enabled") : null,
        changes.DisplayName is not null ? "display name" : null,
    }.Where(part => part is not null));

    internal static UserResponse ToResponse(UserAccount user) => new(
        user.Id,
        user.Username,
        user.Role,
        user.QuotaBytes,
        user.Disabled,
        user.DisplayName,
        DateTimeOffset.FromUnixTimeMilliseconds(user.CreatedAt),
        DateTimeOffset.FromUnixTimeMilliseconds(user.UpdatedAt));

    private static void SetETag(HttpContext http, UserAccount user) =>
        http.Response.Headers.ETag = new EntityTagHeaderValue($"\"{user.Version.ToString(CultureInfo.InvariantCulture)}\"").ToString();

    /// <summary>The version named by If-Match, if any; <c>*</c> matches any version.</summary>
    private static long? ExpectedVersion(HttpRequest request)
    {
        var header = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        if (!EntityTagHeaderValue.TryParseList([header], out var tags) || tags.Count != 1)
        {
            throw new AccountException(AccountError.Invalid, "If-Match carries one ETag, as returned by GET.", "If-Match");
        }

        var tag = tags[0];
        if (tag.Equals(EntityTagHeaderValue.Any))
        {
            return null;
        }

        return !tag.IsWeak && long.TryParse(tag.Tag.AsSpan().Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new AccountException(AccountError.Stale, "If-Match does not name a version of this user.");
    }

    /// <summary>
    /// Reads a PATCH body field by field, so an absent field (unchanged) differs from an explicit
    /// null (quota removed); any field that may not be set this way is refused by name.
    /// </summary>
    private static async Task<UserChanges> ReadChangesAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 4 }, cancellationToken);
        }
        catch (JsonException)
        {
            throw new AccountException(AccountError.Invalid, "The body is not valid JSON.", "body");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new AccountException(AccountError.Invalid, "The body is a JSON object.", "body");
            }

            var changes = new UserChanges();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value;
                changes = property.Name.ToLowerInvariant() switch
                {
                    "role" when value.ValueKind == JsonValueKind.String => changes with { Role = value.GetString() },
                    "quotabytes" when value.ValueKind == JsonValueKind.Null => changes with { ClearQuota = true },
                    "quotabytes" when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var quota) => changes with { QuotaBytes = quota },
                    "disabled" when value.ValueKind is JsonValueKind.True or JsonValueKind.False => changes with { Disabled = value.GetBoolean() },
                    "displayname" when value.ValueKind == JsonValueKind.String => changes with { DisplayName = value.GetString() },
                    "displayname" when value.ValueKind == JsonValueKind.Null => changes with { DisplayName = string.Empty },
                    "role" or "quotabytes" or "disabled" or "displayname" => throw new AccountException(AccountError.Invalid, $"'{property.Name}' has the wrong type.", property.Name),
                    _ => throw new AccountException(AccountError.Invalid, $"'{property.Name}' cannot be changed here.", property.Name),
                };
            }

            return changes;
        }
    }
}
