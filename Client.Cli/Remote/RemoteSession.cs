using SecureXfer.Cli.Config;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Security;

namespace SecureXfer.Cli.Remote;

/// <summary>
/// An SXP client for the saved login: the token if it has not expired, and the trust
/// decision taken at login (the CA file, or the fingerprint that was accepted).
/// </summary>
internal sealed class RemoteSession : IAsyncDisposable
{
    private readonly LoginStore _store;
    private readonly SemaphoreSlim _renewing = new(1, 1);

    private RemoteSession(LoginStore store, LoginState state, ServerTrust trust)
    {
        _store = store;
        State = state;
        Trust = trust;
        Client = new SxpClient(new SxpEndpoint(state.Host, state.SxpPort, trust), CurrentTokenAsync);
    }

    /// <summary>The login in use; replaced when the token is renewed during a long run.</summary>
    public LoginState State { get; private set; }

    public ServerTrust Trust { get; }

    public SxpClient Client { get; }

    /// <summary>How close to its expiry a saved access token is renewed before use.</summary>
    private static readonly TimeSpan RenewMargin = TimeSpan.FromMinutes(1);

    public static RemoteSession Open(LoginStore store) => OpenAsync(store, RenewMargin, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// The saved login, with its access token renewed first (through the saved refresh token)
    /// when it expires within <paramref name="renewWithin"/>.
    /// </summary>
    public static async Task<RemoteSession> OpenAsync(LoginStore store, TimeSpan renewWithin, CancellationToken cancellationToken)
    {
        var state = store.Load()
            ?? throw CliException.NotLoggedIn("Not logged in; run 'sxfer login --server URL --user NAME' first.");
        var trust = TrustOf(state);
        if (state.ExpiresAt - DateTimeOffset.UtcNow <= renewWithin && state.UsableRefreshToken is not null)
        {
            state = await RenewAsync(store, trust, renewWithin, cancellationToken).ConfigureAwait(false);
        }

        if (state.ExpiresAt <= DateTimeOffset.UtcNow)
        {
            throw new CliException(ExitCodes.Auth, "token_expired",
                $"The login for {state.User} at {state.Server} expired at {state.ExpiresAt.ToUniversalTime():u}; run 'sxfer login' again.");
        }

        return new RemoteSession(store, state, trust);
    }

    /// <summary>The token for a new connection, renewed first when it is about to expire (a run can outlast a token).</summary>
    private async ValueTask<string> CurrentTokenAsync(CancellationToken cancellationToken)
    {
        if (State.ExpiresAt - DateTimeOffset.UtcNow > RenewMargin || State.UsableRefreshToken is null)
        {
            return State.AccessToken;
        }

        await _renewing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            State = await RenewAsync(_store, Trust, RenewMargin, cancellationToken).ConfigureAwait(false);
            return State.AccessToken;
        }
        finally
        {
            _renewing.Release();
        }
    }

    /// <summary>Renews the access token under the config lock; another process may have done it meanwhile.</summary>
    private static Task<LoginState> RenewAsync(LoginStore store, ServerTrust trust, TimeSpan renewWithin, CancellationToken cancellationToken) =>
        store.LockedAsync(async () =>
        {
            var current = store.Load()
                ?? throw CliException.NotLoggedIn("Not logged in; run 'sxfer login --server URL --user NAME' first.");
            if (current.ExpiresAt - DateTimeOffset.UtcNow > renewWithin || current.UsableRefreshToken is not { } refresh)
            {
                return current;
            }

            LoginResponse? issued;
            try
            {
                using var api = new ServerApi(new Uri(current.Server), trust);
                issued = await api.RefreshAsync(refresh, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException or CliException && current.ExpiresAt > DateTimeOffset.UtcNow)
            {
                // The token in hand still works for now; the next use tries again.
                return current;
            }

            if (issued is null)
            {
                // Revoked, expired or spent elsewhere: only a new login helps.
                var spent = current with { RefreshToken = null, RefreshExpiresAt = null };
                store.Save(spent);
                return spent;
            }

            var renewed = current with
            {
                AccessToken = issued.AccessToken,
                ExpiresAt = issued.ExpiresAt,
                RefreshToken = issued.RefreshToken,
                RefreshExpiresAt = issued.RefreshExpiresAt,
            };
            store.Save(renewed);
            return renewed;
        }, cancellationToken);

    private static ServerTrust TrustOf(LoginState state)
    {
        if (state.CaFile is null)
        {
            return new ServerTrust(state.Fingerprint);
        }

        try
        {
            return ServerTrust.FromCaFile(state.CaFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or System.Security.Cryptography.CryptographicException)
        {
            throw new CliException(ExitCodes.Failure, "untrusted_server", $"The CA file {state.CaFile} saved at login cannot be read ({ex.Message}); run 'sxfer login' again.");
        }
    }

    /// <summary>The REST control plane of the same server, with the saved token and trust.</summary>
    public ServerApi OpenApi() => new(new Uri(State.Server), Trust, State.AccessToken);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        _renewing.Dispose();
    }
}
