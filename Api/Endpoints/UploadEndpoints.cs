using Microsoft.AspNetCore.Http.HttpResults;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary><c>/api/v1/uploads</c>: uploads in progress. Your own; an admin sees and aborts anyone's.</summary>
internal static class UploadEndpoints
{
    public static void MapUploadEndpoints(this IEndpointRouteBuilder routes)
    {
        var uploads = routes.MapGroup("/api/v1/uploads").WithTags("Uploads").RequireAuthorization();
        uploads.MapGet("/", ListAsync)
            .WithName("ListUploads")
            .WithSummary("Uploads in progress: yours, or with `all=true` (admins) everyone's, with how much has arrived.");
        uploads.MapGet("/{id}", GetAsync)
            .WithName("GetUpload")
            .WithSummary("One upload in progress and its progress.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        uploads.MapDelete("/{id}", AbortAsync)
            .WithName("AbortUpload")
            .WithSummary("Abort an upload: the staged data is deleted and its quota reservation freed. A client still sending gets UploadGone.")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<UploadListResponse>, ForbidHttpResult>> ListAsync(HttpContext http, UploadService uploads, CancellationToken cancellationToken, bool all = false)
    {
        var user = http.ActingUser();
        if (all && user.Role != Roles.Admin)
        {
            return TypedResults.Forbid();
        }

        var items = await uploads.ListAsync(all ? null : user.Id, null, cancellationToken);
        return TypedResults.Ok(new UploadListResponse(items.Select(ToResponse).ToList()));
    }

    private static async Task<Results<Ok<UploadResponse>, ProblemHttpResult>> GetAsync(string id, HttpContext http, UploadService uploads, CancellationToken cancellationToken)
    {
        var user = http.ActingUser();
        var found = await uploads.ListAsync(user.Role == Roles.Admin ? null : user.Id, id, cancellationToken);
        return found.Count == 1
            ? TypedResults.Ok(ToResponse(found[0]))
            : TypedResults.Problem(title: "Not found", detail: $"No upload {id}.", statusCode: StatusCodes.Status404NotFound);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> AbortAsync(string id, HttpContext http, UploadService uploads, CancellationToken cancellationToken)
    {
        var user = http.ActingUser();
        try
        {
            await uploads.AbortAsync(user, id, cancellationToken, anyOwner: user.Role == Roles.Admin);
        }
        catch (SecureXfer.Shared.Protocol.SxpException)
        {
            return TypedResults.Problem(title: "Not found", detail: $"No upload {id}.", statusCode: StatusCodes.Status404NotFound);
        }

        http.Audit("upload.abort", id);
        return TypedResults.NoContent();
    }

    private static UploadResponse ToResponse(UploadProgress upload) => new(
        upload.Id, upload.OwnerId, upload.Path, upload.Size, upload.ChunkSize, upload.ChunkCount, upload.ChunksReceived, upload.BytesReceived, upload.Active,
        DateTimeOffset.FromUnixTimeMilliseconds(upload.CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(upload.UpdatedAt));
}
