using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using SecureXfer.Cli.Terminal;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Cli.Commands;

/// <summary>
/// <c>sxfer remotes list|add|test|rm</c>: saved connections to FTP, FTPS and SFTP servers, kept
/// on the SecureXfer server (secrets encrypted there, never shown) for scheduled jobs.
/// </summary>
internal static class RemoteCommands
{
    public static Command Create(GlobalOptions globals)
    {
        var remotes = new Command("remotes", "Manage saved FTP/FTPS/SFTP connections for scheduled jobs.");
        remotes.Subcommands.Add(List(globals));
        remotes.Subcommands.Add(Add(globals));
        remotes.Subcommands.Add(Test(globals));
        remotes.Subcommands.Add(Remove(globals));
        return remotes;
    }

    private static Command List(GlobalOptions globals)
    {
        var all = new Option<bool>("--all") { Description = "Everyone's (admins)." };
        var command = new Command("list", "List your remotes.") { all };
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var path = "api/v1/remotes" + (context.ParseResult.GetValue(all) ? "?all=true" : string.Empty);
            var result = await api.SendAsync(HttpMethod.Get, path, null, RemoteJsonContext.Default.RemoteListResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(result!, RemoteJsonContext.Default.RemoteListResponse, () =>
            {
                Console.Out.WriteLine($"{"ID",-22}  {"NAME",-20} {"KIND",-13} ADDRESS");
                foreach (var r in result!.Items)
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Id,-22}  {r.Name,-20} {r.Kind,-13} {r.User}@{r.Host}:{r.Port}{(r.HostKey ?? r.TlsFingerprint) switch { null => string.Empty, var pin => "  pinned " + pin }}"));
                }
            });
        });
        return command;
    }

    private static Command Add(GlobalOptions globals)
    {
        var name = new Argument<string>("NAME") { Description = "A name for the connection." };
        var url = new Argument<string>("URL") { Description = "ftp://, ftps:// or sftp://user@host[:port] (a path in it is ignored)." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the server's password (or the key's passphrase) from the first line of stdin." };
        var identity = new Option<string?>("--identity", "-i") { Description = "SFTP: a private key file to store (encrypted) and log in with.", HelpName = "FILE" };
        var hostKey = new Option<string?>("--host-key") { Description = "SFTP: the host key fingerprint to pin (SHA256:...).", HelpName = "SHA256:..." };
        var fingerprint = new Option<string?>("--fingerprint") { Description = "FTPS: the certificate fingerprint to pin.", HelpName = "SHA256:HEX" };
        var tlsName = new Option<string?>("--tls-name") { Description = "FTPS: the server's TLS name when the URL gives an IP address.", HelpName = "NAME" };
        var command = new Command("add", "Save a connection; with a fingerprint pinned, or test it to learn the fingerprint.") { name, url, passwordStdin, identity, hostKey, fingerprint, tlsName };
        command.SetBody(globals, async context =>
        {
            var parse = context.ParseResult;
            Shared.Endpoints.EndpointAddress address;
            try
            {
                address = Shared.Endpoints.EndpointAddress.Parse(parse.GetRequiredValue(url));
            }
            catch (FormatException ex)
            {
                throw CliException.Usage(ex.Message);
            }

            var secret = parse.GetValue(passwordStdin)
                ? Prompts.ReadLineFromStdin() ?? throw CliException.Usage("--password-stdin was given but stdin is empty.")
                : Environment.GetEnvironmentVariable(Remote.RemoteFlags.PasswordVariable);
            var key = parse.GetValue(identity) is { } file
                ? File.Exists(file) ? await File.ReadAllTextAsync(file, context.CancellationToken).ConfigureAwait(false) : throw CliException.Usage($"--identity: {file} does not exist.")
                : null;
            var kind = address.Kind switch
            {
                Shared.Endpoints.EndpointKind.Sftp => "sftp",
                Shared.Endpoints.EndpointKind.Ftp => "ftp",
                Shared.Endpoints.EndpointKind.FtpsImplicit => "ftps-implicit",
                _ => "ftps",
            };
            var request = new RemoteRequest(parse.GetRequiredValue(name), kind, address.Host, address.Port, address.User ?? Environment.UserName,
                secret, key, parse.GetValue(hostKey), parse.GetValue(fingerprint), parse.GetValue(tlsName));
            using var api = context.OpenSession().OpenApi();
            var created = await api.SendAsync(HttpMethod.Post, "api/v1/remotes", JsonContent.Create(request, RemoteJsonContext.Default.RemoteRequest), RemoteJsonContext.Default.RemoteResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(created!, RemoteJsonContext.Default.RemoteResponse, () => Console.Out.WriteLine($"Saved remote {created!.Id} ({created.Name})."));
        });
        return command;
    }

    private static Command Test(GlobalOptions globals)
    {
        var id = new Argument<string>("ID") { Description = "The remote's id." };
        var command = new Command("test", "Connect and log in; prints the server's key or certificate fingerprint.") { id };
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var result = await api.SendAsync(HttpMethod.Post, $"api/v1/remotes/{Uri.EscapeDataString(context.ParseResult.GetRequiredValue(id))}/test", null, RemoteJsonContext.Default.RemoteTestResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(result!, RemoteJsonContext.Default.RemoteTestResponse, () =>
            {
                Console.Out.WriteLine(result!.Message);
                if (result.Fingerprint is { } seen)
                {
                    Console.Out.WriteLine($"fingerprint: {seen}{(result.Trusted ? string.Empty : " (not trusted yet)")}");
                }
            });
            if (!result!.Ok)
            {
                throw new CliException(ExitCodes.Failure, "remote_failed", result.Message) { Reported = context.Reporter.Json, Fingerprint = result.Fingerprint };
            }
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals)
    {
        var id = new Argument<string>("ID") { Description = "The remote's id." };
        var command = new Command("rm", "Delete a remote (and the jobs that use it).") { id };
        command.SetBody(globals, async context =>
        {
            var remoteId = context.ParseResult.GetRequiredValue(id);
            using var api = context.OpenSession().OpenApi();
            await api.SendAsync<RemoteResponse>(HttpMethod.Delete, $"api/v1/remotes/{Uri.EscapeDataString(remoteId)}", null, null, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new KeyOkJson(true, remoteId), KeyJson.Default.KeyOkJson, () => Console.Out.WriteLine($"Deleted {remoteId}"));
        });
        return command;
    }
}
