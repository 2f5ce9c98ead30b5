using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using SecureXfer.Server.Accounts;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// Turns a refused operation into its RFC 9457 problem. Account refusals: 400 with the field at
/// fault, 403, 404, 409 or 412. Storage and transfer refusals (the engine's error codes, shared
/// with SXP): 400, 404, 409, 422, 507 and so on. Anything else is left to the generic 500 handler.
/// </summary>
internal sealed class RefusalHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is SecureXfer.Api.Endpoints.PayloadTooLargeException tooLarge)
        {
            httpContext.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails { Status = StatusCodes.Status413PayloadTooLarge, Title = "Content too large", Detail = tooLarge.Message },
                Exception = exception,
            });
        }

        if (exception is SxpException engine)
        {
            var (code, heading) = engine.Code switch
            {
                ErrorCode.NotFound => (StatusCodes.Status404NotFound, "Not found"),
                ErrorCode.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
                ErrorCode.QuotaExceeded => (StatusCodes.Status507InsufficientStorage, "Quota exceeded"),
                ErrorCode.StorageFull => (StatusCodes.Status507InsufficientStorage, "Server storage full"),
                ErrorCode.IntegrityFailed => (StatusCodes.Status422UnprocessableEntity, "Integrity check failed"),
                ErrorCode.AuthRequired or ErrorCode.AuthFailed => (StatusCodes.Status401Unauthorized, "Unauthorized"),
                ErrorCode.Busy => (StatusCodes.Status503ServiceUnavailable, "Busy"),
                ErrorCode.Internal => (StatusCodes.Status500InternalServerError, "Server error"),
                _ => (StatusCodes.Status400BadRequest, "Invalid request"),
            };
            httpContext.Response.StatusCode = code;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails { Status = code, Title = heading, Detail = engine.Message, Type = "urn:securexfer:" + engine.Code },
                Exception = exception,
            });
        }

        if (SecureXfer.Server.Storage.StorageErrors.IsStorageFull(exception))
        {
            // A database or file write that found the disk full (past the upload reserve): said as such, not as a 500.
            httpContext.Response.StatusCode = StatusCodes.Status507InsufficientStorage;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails { Status = StatusCodes.Status507InsufficientStorage, Title = "Server storage full", Detail = "The server is out of disk space.", Type = "urn:securexfer:" + ErrorCode.StorageFull },
                Exception = exception,
            });
        }

        if (exception is not AccountException refused)
        {
            return false;
        }

        var (status, title) = refused.Error switch
        {
            AccountError.NotFound => (StatusCodes.Status404NotFound, "Not found"),
            AccountError.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
            AccountError.Stale => (StatusCodes.Status412PreconditionFailed, "Precondition failed"),
            AccountError.WrongPassword => (StatusCodes.Status403Forbidden, "Forbidden"),
            _ => (StatusCodes.Status400BadRequest, "Invalid request"),
        };
        ProblemDetails problem = refused.Error == AccountError.Invalid && refused.Field is { } field
            ? new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [refused.Message] })
            : new ProblemDetails();
        problem.Status = status;
        problem.Title = title;
        problem.Detail = refused.Message;
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }
}
