using System.Diagnostics;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// One log line per HTTP request (method, path, status, time, user id), inside the request's
/// scope, so it carries the connection and request ids; the request id also goes back to the
/// client as <c>X-Request-Id</c>, to quote in a support question. Query strings and headers are
/// never logged: no token, key or password can reach the log this way.
/// </summary>
internal static partial class RequestLog
{
    public const string Header = "X-Request-Id";

    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("SecureXfer.Http");
        return app.Use(async (http, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            http.Response.OnStarting(() =>
            {
                http.Response.Headers[Header] = http.TraceIdentifier;
                return Task.CompletedTask;
            });
            try
            {
                await next(http);
            }
            finally
            {
                var user = http.User.FindFirst("sub")?.Value ?? "-";
                LogRequest(logger, http.Request.Method, http.Request.Path.Value ?? "/", http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, user);
            }
        });
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} in {ElapsedMs:0.0} ms for user {UserId}")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, double elapsedMs, string userId);
}
