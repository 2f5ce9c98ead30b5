using System.CommandLine;
using System.Security.Cryptography;
using SecureXfer.Cli.Config;
using SecureXfer.Cli.Output;
using SecureXfer.Cli.Remote;
using SecureXfer.Cli.Terminal;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Security;

namespace SecureXfer.Cli.Commands;

/// <summary>
/// <c>sxfer login</c>: decides how to trust the server, exchanges the password for a token and
/// saves both. The certificate is checked before the password is sent anywhere.
/// </summary>
internal static class LoginCommand
{
    private enum TrustMode
    {
        System,
        Pinned,
        CaFile,
    }

    public static Command Create(GlobalOptions globals)
    {
        var server = new Option<string>("--server", "-s")
        {
            Description = "Server URL, e.g. https://files.example.com:8443.",
            HelpName = "URL",
            Required = true,
        };
        var user = new Option<string>("--user", "-u") { Description = "User name.", HelpName = "NAME", Required = true };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of stdin." };
        var fingerprint = new Option<string?>("--fingerprint")
        {
            Description = "Trust the server whose certificate has this SHA-256 fingerprint (SHA256:...).",
            HelpName = "SHA256:HEX",
        };
        var ca = new Option<string?>("--ca") { Description = "Trust certificates issued by this PEM CA (or self-signed certificate) file.", HelpName = "FILE" };

        var command = new Command("login", "Log in to a server and remember the login.") { server, user, passwordStdin, fingerprint, ca };
        command.SetBody(globals, context => RunAsync(
            context,
            context.ParseResult.GetRequiredValue(server),
            context.ParseResult.GetRequiredValue(user),
            context.ParseResult.GetValue(passwordStdin),
            context.ParseResult.GetValue(fingerprint),
            context.ParseResult.GetValue(ca)));
        return command;
    }

    private static async Task RunAsync(CommandContext context, string serverText, string user, bool passwordStdin, string? fingerprint, string? caFile)
    {
        var cancellationToken = context.CancellationToken;
        var server = ParseServer(serverText);
        if (string.IsNullOrWhiteSpace(user))
        {
            throw CliException.Usage("--user must not be empty.");
        }

        var (trust, mode, caPath) = ChooseTrust(fingerprint, caFile);

        string? password = null;
        if (passwordStdin)
        {
            password = Prompts.ReadLineFromStdin()
                ?? throw CliException.Usage("--password-stdin was given but stdin is empty.");
        }
        else if (!Prompts.CanPromptForPassword)
        {
            throw CliException.Usage("There is no terminal to ask for the password; pass it on stdin with --password-stdin.");
        }

        var (api, info) = await ReachAsync(server, trust, mode, caPath, cancellationToken).ConfigureAwait(false);
        using (api)
        {
            password ??= Prompts.ReadSecret($"Password for {user} at {server.Host}: ");
            var issued = await api.LoginAsync(user, password, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.Auth, "auth_failed", "Login failed: wrong user name or password.");

            var seen = CertificateFingerprint.Of(api.Seen
                ?? throw new CliException(ExitCodes.Failure, "failed", "The server's certificate was not seen during login."));
            var state = new LoginState(
                server.GetLeftPart(UriPartial.Authority),
                server.DnsSafeHost,
                info.SxpPort,
                user,
                issued.AccessToken,
                issued.ExpiresAt,
                seen,
                caPath,
                issued.RefreshToken,
                issued.RefreshExpiresAt);
            context.Store.Save(state);

            context.Reporter.Result(
                new LoginJson(state.Server, state.User, state.ExpiresAt, seen),
                CliJson.Context.LoginJson,
                () =>
                {
                    var how = caPath is null ? "pinned" : $"verified with {caPath}";
                    Console.Out.WriteLine($"Logged in to {state.Server} as {user} until {state.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm:ss zzz}.");
                    Console.Out.WriteLine($"Server certificate {seen} ({how}).");
                });
        }
    }

    private static Uri ParseServer(string text)
    {
        var value = text.Trim();
        if (!value.Contains("://", StringComparison.Ordinal))
        {
            value = "https://" + value;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || string.IsNullOrEmpty(uri.Host))
        {
            throw CliException.Usage($"--server must be an https:// URL such as https://files.example.com:8443, not '{text}'.");
        }

        return new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
    }

    private static (ServerTrust Trust, TrustMode Mode, string? CaPath) ChooseTrust(string? fingerprint, string? caFile)
    {
        if (fingerprint is not null && caFile is not null)
        {
            throw CliException.Usage("Give either --fingerprint or --ca, not both.");
        }

        if (caFile is not null)
        {
            var path = Path.GetFullPath(caFile);
            if (!File.Exists(path))
            {
                throw CliException.Usage($"The CA file {path} does not exist.");
            }

            try
            {
                return (ServerTrust.FromCaFile(path), TrustMode.CaFile, path);
            }
            catch (Exception ex) when (ex is InvalidOperationException or CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw CliException.Usage($"The CA file {path} cannot be used: {ex.Message}");
            }
        }

        if (fingerprint is not null)
        {
            try
            {
                return (new ServerTrust(fingerprint), TrustMode.Pinned, null);
            }
            catch (FormatException ex)
            {
                throw CliException.Usage($"--fingerprint: {ex.Message}");
            }
        }

        return (new ServerTrust(), TrustMode.System, null);
    }

    /// <summary>
    /// Asks the server where its SXP listener is. A certificate the chosen trust refuses ends
    /// the login, except with system trust on a terminal, where the user may accept (and pin) it.
    /// </summary>
    private static async Task<(ServerApi Api, ServerInfo Info)> ReachAsync(Uri server, ServerTrust trust, TrustMode mode, string? caPath, CancellationToken cancellationToken)
    {
        var api = new ServerApi(server, trust);
        try
        {
            return (api, await api.GetInfoAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (HttpRequestException) when (api.CertificateRejected)
        {
            var fingerprint = CertificateFingerprint.Of(api.Seen!);
            var subject = api.Seen!.Subject;
            api.Dispose();
            var where = server.Authority;

            if (mode == TrustMode.System && Prompts.Interactive)
            {
                Console.Error.WriteLine($"The certificate of {where} is not trusted by the system.");
                Console.Error.WriteLine($"  subject:     {subject}");
                Console.Error.WriteLine($"  fingerprint: {fingerprint}");
                if (!Prompts.Confirm("Trust this server?"))
                {
                    throw new CliException(ExitCodes.Failure, "untrusted_server", "The server was not trusted; nothing was saved.") { Fingerprint = fingerprint };
                }

                var pinned = new ServerApi(server, new ServerTrust(fingerprint));
                try
                {
                    return (pinned, await pinned.GetInfoAsync(cancellationToken).ConfigureAwait(false));
                }
                catch
                {
                    pinned.Dispose();
                    throw;
                }
            }

            var message = mode switch
            {
                TrustMode.CaFile => $"The certificate of {where} (fingerprint {fingerprint}) is not trusted by the CA in {caPath}, or does not name this host.",
                TrustMode.Pinned => $"The certificate of {where} has fingerprint {fingerprint}, which is not the one given with --fingerprint.",
                _ => $"The certificate of {where} is not trusted by the system; its fingerprint is {fingerprint}. " +
                     $"If that is the server you expect, log in with --fingerprint {fingerprint}, or with --ca FILE to trust its CA.",
            };
            throw new CliException(ExitCodes.Failure, "untrusted_server", message) { Fingerprint = fingerprint };
        }
        catch
        {
            api.Dispose();
            throw;
        }
    }
}
