namespace SecureXfer.Api.Hosting;

/// <summary>
/// Headers on every HTTP answer that keep browsers from misusing it: no sniffing, no framing,
/// no referrer, HTTPS only (HSTS), and a content security policy: nothing at all for the API
/// (it serves data, never pages), and same-origin scripts and styles for Swagger UI. API answers
/// are not cached (they carry tokens and listings). No CORS headers are sent: browsers on other
/// origins cannot read answers.
/// </summary>
internal static class SecurityHeaders
{
    private const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    // Swagger UI's page sets itself up with inline script and style.
    private const string SwaggerPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                var swagger = http.Request.Path.StartsWithSegments("/swagger", StringComparison.OrdinalIgnoreCase);
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers.StrictTransportSecurity = "max-age=31536000";
                headers.ContentSecurityPolicy = swagger ? SwaggerPolicy : ApiPolicy;
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";
                if (!swagger && string.IsNullOrEmpty(headers.CacheControl))
                {
                    headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            });
            await next(http);
        });
}
