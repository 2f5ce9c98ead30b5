using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using SecureXfer.Server.Accounts;

namespace SecureXfer.Api.Hosting;

/// <summary>Turns a refused account operation into its RFC 9457 problem: 400 with the field at fault, 403, 404, 409 or 412.</summary>
internal sealed class AccountExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
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
