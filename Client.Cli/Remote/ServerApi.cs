using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Security;

namespace SecureXfer.Cli.Remote;

/// <summary>The REST calls login needs, over a TLS connection judged by <see cref="ServerTrust"/>.</summary>
internal sealed class ServerApi : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private int _rejected;

    public ServerApi(Uri server, ServerTrust trust)
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

    public void Dispose()
    {
        _http.Dispose();
        Seen?.Dispose();
    }
}
