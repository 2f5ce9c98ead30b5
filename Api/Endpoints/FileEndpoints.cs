using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary>
/// <c>/api/v1/files</c>: the caller's own files over HTTP, through the same services (and so the
/// same path confinement, quota and atomic commit) as SXP. Another user's files simply do not
/// exist from here: every path is resolved inside the caller's root.
/// </summary>
internal static class FileEndpoints
{
    public static void MapFileEndpoints(this IEndpointRouteBuilder routes)
    {
        var files = routes.MapGroup("/api/v1/files").WithTags("Files").RequireAuthorization();

        files.MapGet("/", ListAsync)
            .WithName("ListFiles")
            .WithSummary("List a directory: name, type, size, modified and recorded SHA-256 of each entry.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        files.MapGet("/stat", StatAsync)
            .WithName("StatFile")
            .WithSummary("One file or directory: size, modified and recorded SHA-256.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        files.MapPost("/mkdir", Mkdir)
            .WithName("MakeDirectory")
            .WithSummary("Create a directory and any missing parents; an existing directory is fine.")
            .ProducesProblem(StatusCodes.Status409Conflict);

        files.MapPost("/move", MoveAsync)
            .WithName("MoveFile")
            .WithSummary("Rename or move a file or directory; `overwrite` replaces an existing file.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        files.MapDelete("/", DeleteAsync)
            .WithName("DeleteFile")
            .WithSummary("Delete a file, or a directory with `recursive=true` (a non-empty directory without it is 409).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        files.MapGet("/content", DownloadAsync)
            .WithName("DownloadFile")
            .WithSummary("Download a file. `Range` is honoured (206); `Repr-Digest` carries the recorded SHA-256 of the whole file (RFC 9530).")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status206PartialContent, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);

        files.MapPut("/content", UploadAsync)
            .WithName("UploadFile")
            .WithSummary("Upload a file as the raw request body, atomically: it appears whole or not at all.")
            .WithDescription("Bodies over `SecureXfer:HttpUploadMaxBytes` (100 MiB by default) are refused with 413; larger files go over SXP. "
                + "`overwrite=false` refuses an existing file (409). An optional `Repr-Digest: sha-256=:BASE64:` request header is checked (422 on mismatch). "
                + "Quota is enforced (507). Answers 201 with the stored entry once the file is on disk.")
            .Accepts<Stream>("application/octet-stream")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage);
    }

    private static async Task<Ok<FileListResponse>> ListAsync(string? path, HttpContext http, FileService files, CancellationToken cancellationToken) =>
        TypedResults.Ok(new FileListResponse(await files.ListAsync(http.ActingUser(), RemotePath.Parse(path ?? "/"), cancellationToken)));

    private static async Task<Ok<RemoteEntry>> StatAsync(string path, HttpContext http, FileService files, CancellationToken cancellationToken) =>
        TypedResults.Ok(await files.StatAsync(http.ActingUser(), RemotePath.Parse(path), cancellationToken));

    private static Ok<RemoteEntry> Mkdir(PathRequest request, HttpContext http, FileService files)
    {
        var path = RemotePath.Parse(request.Path);
        var entry = files.Mkdir(http.ActingUser(), path);
        http.Audit("file.mkdir", path.Value);
        return TypedResults.Ok(entry);
    }

    private static async Task<Ok<RemoteEntry>> MoveAsync(MoveRequest request, HttpContext http, FileService files, CancellationToken cancellationToken)
    {
        var (from, to) = (RemotePath.Parse(request.From), RemotePath.Parse(request.To));
        var entry = await files.MoveAsync(http.ActingUser(), from, to, request.Overwrite, cancellationToken);
        http.Audit("file.move", from.Value, detail: "to " + to.Value);
        return TypedResults.Ok(entry);
    }

    private static async Task<NoContent> DeleteAsync(string path, HttpContext http, FileService files, CancellationToken cancellationToken, bool recursive = false)
    {
        var remote = RemotePath.Parse(path);
        await files.RemoveAsync(http.ActingUser(), remote, recursive, cancellationToken);
        http.Audit("file.delete", remote.Value, detail: recursive ? "recursive" : null);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DownloadAsync(string path, HttpContext http, FileService files, CancellationToken cancellationToken)
    {
        var remote = RemotePath.Parse(path);
        var file = await files.OpenReadAsync(http.ActingUser(), remote, cancellationToken);
        http.Audit("file.download", remote.Value, detail: http.Request.Headers.Range.Count > 0 ? $"range {http.Request.Headers.Range}" : $"{file.Size} bytes");
        var digest = Convert.ToBase64String(Convert.FromHexString(file.Sha256));
        http.Response.Headers["Repr-Digest"] = $"sha-256=:{digest}:";
        http.Response.Headers["Digest"] = $"sha-256={digest}";
        http.Response.RegisterForDispose(file);
        var stream = new FileStream(file.Handle, FileAccess.Read, bufferSize: 0);
        return TypedResults.Stream(
            stream,
            contentType: "application/octet-stream",
            fileDownloadName: remote.Name,
            lastModified: new DateTimeOffset(file.ModifiedUtc, TimeSpan.Zero),
            entityTag: new EntityTagHeaderValue($"\"{file.Sha256}\""),
            enableRangeProcessing: true);
    }

    /// <summary>Streams the body into a staging file while hashing it, then commits it like a PUT over SXP.</summary>
    private static async Task<Created<RemoteEntry>> UploadAsync(
        string path, HttpContext http, UploadService uploads, DiskSpace space, IOptions<SecureXferOptions> options, CancellationToken cancellationToken, bool overwrite = true)
    {
        var remote = RemotePath.Parse(path);
        var limit = options.Value.HttpUploadMaxBytes;
        if (http.Request.ContentLength > limit)
        {
            throw new PayloadTooLargeException(limit);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = limit + 1;
        }

        var expected = DeclaredDigest(http.Request);
        var staging = uploads.NewPutStagingPath();
        long size = 0;
        string sha256;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var target = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                var buffer = new byte[256 * 1024];
                int read;
                while ((read = await http.Request.Body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    size += read;
                    if (size > limit)
                    {
                        throw new PayloadTooLargeException(limit);
                    }

                    hash.AppendData(buffer, 0, read);
                    space.EnsureRoom(read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            var digest = hash.GetHashAndReset();
            if (expected is not null && !CryptographicOperations.FixedTimeEquals(expected, digest))
            {
                throw new SxpException(ErrorCode.IntegrityFailed, "The body does not match its Repr-Digest; nothing was stored.");
            }

            sha256 = HashText.ToHex(digest);
        }
        catch (Exception ex)
        {
            File.Delete(staging);
            if (ex is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
            {
                throw new PayloadTooLargeException(limit);
            }

            if (ex is IOException io && StorageErrors.IsDiskFull(io))
            {
                throw new SxpException(ErrorCode.StorageFull, "The server is out of disk space.");
            }

            throw;
        }

        var entry = await uploads.CommitStagedAsync(http.ActingUser(), remote, staging, size, sha256, overwrite);
        http.Audit("file.upload", remote.Value, detail: $"{size} bytes, sha256 {sha256}");
        return TypedResults.Created($"/api/v1/files/stat?path={Uri.EscapeDataString(remote.Value)}", entry);
    }

    /// <summary>The SHA-256 a client declared in <c>Repr-Digest</c> (or <c>Content-Digest</c>), if any.</summary>
    private static byte[]? DeclaredDigest(HttpRequest request)
    {
        var header = request.Headers["Repr-Digest"].ToString();
        if (string.IsNullOrEmpty(header))
        {
            header = request.Headers["Content-Digest"].ToString();
        }

        if (string.IsNullOrEmpty(header))
        {
            return null;
        }

        foreach (var member in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = member.Split('=', 2);
            if (parts.Length == 2 && parts[0].Equals("sha-256", StringComparison.OrdinalIgnoreCase)
                && parts[1].Length > 2 && parts[1][0] == ':' && parts[1][^1] == ':')
            {
                try
                {
                    var value = Convert.FromBase64String(parts[1][1..^1]);
                    return value.Length == 32 ? value : throw new SxpException(ErrorCode.BadRequest, "Repr-Digest sha-256 must be 32 bytes.");
                }
                catch (FormatException)
                {
                    throw new SxpException(ErrorCode.BadRequest, "Repr-Digest is not valid base64.");
                }
            }
        }

        return null;
    }
}

/// <summary>An upload body over the configured cap: answered 413.</summary>
internal sealed class PayloadTooLargeException(long limit) : Exception($"Uploads over HTTP are limited to {limit} bytes; use SXP (sxfer put) for larger files.")
{
    public long Limit { get; } = limit;
}
