using SecureXfer.Cli.Config;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Security;

namespace SecureXfer.Cli.Remote;

/// <summary>
/// An SXP client for the saved login: the token if it has not expired, and the trust
/// decision taken at login (the CA file, or the fingerprint that was accepted).
/// </summary>
internal sealed class RemoteSession : IAsyncDisposable
{
    private RemoteSession(LoginState state, ServerTrust trust)
    {
        State = state;
        Trust = trust;
        Client = new SxpClient(new SxpEndpoint(state.Host, state.SxpPort, trust), state.AccessToken);
    }

    public LoginState State { get; }

    public ServerTrust Trust { get; }

    public SxpClient Client { get; }

    public static RemoteSession Open(LoginStore store)
    {
        var state = store.Load()
            ?? throw CliException.NotLoggedIn("Not logged in; run 'sxfer login --server URL --user NAME' first.");
        if (state.ExpiresAt <= DateTimeOffset.UtcNow)
        {
            throw new CliException(ExitCodes.Auth, "token_expired",
                $"The login for {state.User} at {state.Server} expired at {state.ExpiresAt.ToUniversalTime():u}; run 'sxfer login' again.");
        }

        ServerTrust trust;
        if (state.CaFile is not null)
        {
            try
            {
                trust = ServerTrust.FromCaFile(state.CaFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or System.Security.Cryptography.CryptographicException)
            {
                throw new CliException(ExitCodes.Failure, "untrusted_server", $"The CA file {state.CaFile} saved at login cannot be read ({ex.Message}); run 'sxfer login' again.");
            }
        }
        else
        {
            trust = new ServerTrust(state.Fingerprint);
        }

        return new RemoteSession(state, trust);
    }

    /// <summary>The REST control plane of the same server, with the saved token and trust.</summary>
    public ServerApi OpenApi() => new(new Uri(State.Server), Trust, State.AccessToken);

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
