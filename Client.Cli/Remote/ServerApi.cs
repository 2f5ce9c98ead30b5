using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Security;

namespace SecureXfer.Cli.Remote;

/// <summary>The REST control plane, over a TLS connection judged by <see cref="ServerTrust"/>; with a token for the calls that need one.</summary>
internal sealed class ServerApi : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private int _rejected;

    public ServerApi(Uri server, ServerTrust trust, string? token = null)
    {
        Trust = trust;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    // The TLS stack disposes its certificate object after a failed handshake,
                    // so keep a copy of what was seen while it is still valid.
                    if (certificate is not null)
                    {
                        Seen = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    }

                    var accepted = trust.Validate(certificate, chain, errors);
                    if (!accepted)
                    {
                        Interlocked.Exchange(ref _rejected, 1);
                    }

                    return accepted;
                },
            },
        };
        _http = new HttpClient(handler) { BaseAddress = server, Timeout = RequestTimeout };
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public ServerTrust Trust { get; }

    /// <summary>A copy of the certificate the server presented last.</summary>
    public X509Certificate2? Seen { get; private set; }

    /// <summary>The last request failed because the certificate did not pass <see cref="Trust"/>.</summary>
    public bool CertificateRejected => Volatile.Read(ref _rejected) == 1 && Seen is not null;

    public async Task<ServerInfo> GetInfoAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri("api/v1/server", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new CliException(ExitCodes.Failure, "failed", $"The server answered {(int)response.StatusCode} to /api/v1/server; is this a SecureXfer server?");
        }

        return await response.Content.ReadFromJsonAsync(RestJsonContext.Default.ServerInfo, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.Failure, "failed", "The server sent an empty answer to /api/v1/server.");
    }

    /// <summary>The issued token, or null when the server refused the credentials.</summary>
    public async Task<LoginResponse?> LoginAsync(string user, string password, CancellationToken cancellationToken)
    {
        using var content = JsonContent.Create(new LoginRequest(user, password), RestJsonContext.Default.LoginRequest);
        using var response = await _http.PostAsync(new Uri("api/v1/auth/login", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new CliException(ExitCodes.Failure, "failed", $"Login failed: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }

        return await response.Content.ReadFromJsonAsync(RestJsonContext.Default.LoginResponse, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.Failure, "failed", "The server sent an empty login answer.");
    }

    /// <summary>Trades a refresh token for new tokens; null when the server no longer accepts it.</summary>
    public async Task<LoginResponse?> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
    {
        using var content = JsonContent.Create(new RefreshRequest(refreshToken), RestJsonContext.Default.RefreshRequest);
        using var response = await _http.PostAsync(new Uri("api/v1/auth/refresh", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await RefusalAsync(response, cancellationToken).ConfigureAwait(false);
        }

        return await response.Content.ReadFromJsonAsync(RestJsonContext.Default.LoginResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One authenticated call. A refusal becomes a <see cref="CliException"/> carrying the server's problem detail.</summary>
    public async Task<T?> SendAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T>? answer, CancellationToken cancellationToken)
        where T : class
    {
        using var request = new HttpRequestMessage(method, new Uri(path.TrimStart('/'), UriKind.Relative)) { Content = body };
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await RefusalAsync(response, cancellationToken).ConfigureAwait(false);
        }

        return answer is null || response.StatusCode == HttpStatusCode.NoContent
            ? null
            : await response.Content.ReadFromJsonAsync(answer, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<CliException> RefusalAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var detail = $"The server answered {(int)response.StatusCode} {response.ReasonPhrase}.";
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            if (problem.RootElement.TryGetProperty("detail", out var text) && text.ValueKind == JsonValueKind.String)
            {
                detail = text.GetString()!;
            }
            else if (problem.RootElement.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
            {
                detail = title.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not a problem document: the status line says enough.
        }

        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new CliException(ExitCodes.Auth, "auth_failed", "The server did not accept the login; run 'sxfer login' again."),
            HttpStatusCode.Forbidden => new CliException(ExitCodes.Auth, "forbidden", detail == $"The server answered 403 {response.ReasonPhrase}." ? "This account may not do that." : detail),
            HttpStatusCode.NotFound => new CliException(ExitCodes.NotFound, "not_found", detail),
            HttpStatusCode.BadRequest => new CliException(ExitCodes.Usage, "invalid", detail),
            HttpStatusCode.Conflict => new CliException(ExitCodes.Failure, "conflict", detail),
            HttpStatusCode.PreconditionFailed => new CliException(ExitCodes.Failure, "precondition_failed", detail),
            HttpStatusCode.TooManyRequests => new CliException(ExitCodes.Failure, "too_many_requests", detail),
            _ => new CliException(ExitCodes.Failure, "failed", detail),
        };
    }

    public void Dispose()
    {
        _http.Dispose();
        Seen?.Dispose();
    }
}
