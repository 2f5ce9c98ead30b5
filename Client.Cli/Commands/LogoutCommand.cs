using System.CommandLine;
using System.Net.Http.Json;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Cli.Commands;

/// <summary>
/// <c>sxfer logout</c>: ends the saved token on the server (so a copy of it is useless too) and
/// forgets the saved login. The local state goes even when the server cannot be reached.
/// </summary>
internal static class LogoutCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("logout", "End the session on the server and forget the saved login.");
        command.SetBody(globals, async context =>
        {
            var revoked = false;
            try
            {
                if (context.Store.Load() is { } state && (state.ExpiresAt > DateTimeOffset.UtcNow || state.UsableRefreshToken is not null))
                {
                    // The refresh token's whole family ends too, so no saved copy can renew the login.
                    var session = await RemoteSession.OpenAsync(context.Store, TimeSpan.FromMinutes(1), context.CancellationToken).ConfigureAwait(false);
                    await using var closing = session.ConfigureAwait(false);
                    using var api = session.OpenApi();
                    await api.SendAsync<LoginResponse>(HttpMethod.Post, "api/v1/auth/logout",
                        JsonContent.Create(new LogoutRequest(session.State.UsableRefreshToken), RestJsonContext.Default.LogoutRequest), null, context.CancellationToken).ConfigureAwait(false);
                    revoked = true;
                }
            }
            catch (Exception ex) when (ex is CliException or HttpRequestException or IOException or TaskCanceledException)
            {
                context.Reporter.Warn("The server could not be told (the token stays valid until it expires); the saved login is forgotten anyway.");
            }

            // Under the login lock, so a renewal running in another process cannot write the login back.
            var existed = await context.Store.LockedAsync(() => Task.FromResult(context.Store.Delete()), context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(
                new LogoutJson(true, existed),
                CliJson.Context.LogoutJson,
                () => Console.Out.WriteLine(existed ? (revoked ? "Logged out; the token no longer works." : "Logged out.") : "Not logged in."));
        });
        return command;
    }
}
