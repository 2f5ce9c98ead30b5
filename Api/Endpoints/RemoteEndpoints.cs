using Microsoft.AspNetCore.Http.HttpResults;
using SecureXfer.Api.Hosting;
using SecureXfer.Server.Remotes;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Api.Endpoints;

/// <summary>
/// <c>/api/v1/remotes</c>: connection profiles for FTP, FTPS and SFTP servers. Each user manages
/// their own; admins see and manage all. Secrets are write-only.
/// </summary>
internal static class RemoteEndpoints
{
    public static void MapRemoteEndpoints(this IEndpointRouteBuilder routes)
    {
        var remotes = routes.MapGroup("/api/v1/remotes").WithTags("Remotes").RequireAuthorization();

        remotes.MapGet("/", ListAsync)
            .WithName("ListRemotes")
            .WithSummary("Your remotes (with `all=true`, an admin sees everyone's).");

        remotes.MapPost("/", CreateAsync)
            .WithName("CreateRemote")
            .WithSummary("Save a connection profile for an FTP, FTPS or SFTP server.")
            .WithDescription("`kind` is `ftp`, `ftps`, `ftps-implicit` or `sftp`; `port` defaults to 21, 990 or 22. `password` and `privateKey` (OpenSSH PEM, SFTP only) are stored encrypted and never shown again. "
                + "`hostKey` pins an SFTP host key (SHA256:... as `ssh-keygen -lf` prints it; without it the server is refused); `tlsFingerprint` pins an FTPS certificate (else the system's CAs decide). "
                + "The host must resolve to public addresses unless the administrator allowed its network (`SecureXfer:RemoteAllowedNetworks`): 400 otherwise. 409 when you already have a remote of that name.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        remotes.MapGet("/{id}", GetAsync)
            .WithName("GetRemote")
            .WithSummary("One remote, without its secrets.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        remotes.MapPatch("/{id}", UpdateAsync)
            .WithName("UpdateRemote")
            .WithSummary("Change a remote; only the fields sent change (an empty `password`, `privateKey`, `hostKey`, `tlsFingerprint` or `tlsName` clears it).")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        remotes.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteRemote")
            .WithSummary("Delete a remote.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        remotes.MapPost("/{id}/test", TestAsync)
            .WithName("TestRemote")
            .WithSummary("Connect, log in and list the login directory; reports the host-key or certificate fingerprint to pin.")
            .WithDescription("`ok` false with a `fingerprint` and `trusted` false means the server answered but is not trusted yet: check the fingerprint, then save it as `hostKey` or `tlsFingerprint`.")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<RemoteListResponse>> ListAsync(HttpContext http, RemoteService remotes, CancellationToken cancellationToken, bool all = false) =>
        TypedResults.Ok(new RemoteListResponse(await remotes.ListAsync(http.ActingUser(), all, cancellationToken)));

    private static async Task<Created<RemoteResponse>> CreateAsync(RemoteRequest request, HttpContext http, RemoteService remotes, CancellationToken cancellationToken)
    {
        var created = await remotes.CreateAsync(http.ActingUser(), request, cancellationToken);
        http.Audit("remote.create", created.Id, detail: $"{created.Kind}://{created.User}@{created.Host}:{created.Port}");
        return TypedResults.Created($"/api/v1/remotes/{created.Id}", created);
    }

    private static async Task<Ok<RemoteResponse>> GetAsync(string id, HttpContext http, RemoteService remotes, CancellationToken cancellationToken) =>
        TypedResults.Ok(await remotes.GetAsync(http.ActingUser(), id, cancellationToken));

    private static async Task<Ok<RemoteResponse>> UpdateAsync(string id, RemoteRequest request, HttpContext http, RemoteService remotes, CancellationToken cancellationToken)
    {
        var updated = await remotes.UpdateAsync(http.ActingUser(), id, request, cancellationToken);
        http.Audit("remote.update", id, detail: string.Join(',', Changed(request)));
        return TypedResults.Ok(updated);
    }

    private static async Task<NoContent> DeleteAsync(string id, HttpContext http, RemoteService remotes, CancellationToken cancellationToken)
    {
        await remotes.DeleteAsync(http.ActingUser(), id, cancellationToken);
        http.Audit("remote.delete", id);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<RemoteTestResponse>> TestAsync(string id, HttpContext http, RemoteService remotes, CancellationToken cancellationToken)
    {
        var result = await remotes.TestAsync(http.ActingUser(), id, cancellationToken);
        http.Audit("remote.test", id, result.Ok ? "ok" : "failed");
        return TypedResults.Ok(result);
    }

    /// <summary>Which fields a change touched, for the audit log (never their values).</summary>
    private static IEnumerable<string> Changed(RemoteRequest r)
    {
        var fields = new (string Name, object? Value)[]
        {
            ("name", r.Name), ("kind", r.Kind), ("host", r.Host), ("port", r.Port), ("user", r.User), ("password", r.Password),
            ("privateKey", r.PrivateKey), ("hostKey", r.HostKey), ("tlsFingerprint", r.TlsFingerprint), ("tlsName", r.TlsName),
        };
        return fields.Where(f => f.Value is not null).Select(f => f.Name);
    }
}
