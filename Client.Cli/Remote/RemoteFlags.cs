using System.CommandLine;
using System.Security.Cryptography;
using SecureXfer.Cli.Terminal;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Endpoints.Ftp;
using SecureXfer.Shared.Endpoints.Sftp;
using SecureXfer.Shared.Security;

namespace SecureXfer.Cli.Remote;

/// <summary>
/// How to reach and trust an FTP, FTPS or SFTP server named by URL: credentials (never a
/// password in a flag: stdin, SXFER_REMOTE_PASSWORD, a prompt, or a key file) and the
/// server's identity (CA or pinned fingerprint for FTPS; pinned host key or known_hosts for SFTP).
/// </summary>
internal sealed class RemoteFlags
{
    public const string PasswordVariable = "SXFER_REMOTE_PASSWORD";

    private string? _password;
    private string? _passwordFor;

    public Option<bool> PasswordStdin { get; } = new("--password-stdin") { Description = "Read the FTP/SFTP password from the first line of stdin." };

    public Option<string?> Identity { get; } = new("--identity", "-i") { Description = "SFTP: private key file (OpenSSH format; its passphrase comes like a password).", HelpName = "FILE" };

    public Option<string?> HostKey { get; } = new("--host-key") { Description = "SFTP: trust the server whose host key has this fingerprint (SHA256:..., as ssh-keygen -lf prints).", HelpName = "SHA256:..." };

    public Option<string?> KnownHosts { get; } = new("--known-hosts") { Description = "SFTP: trust host keys listed in this known_hosts file.", HelpName = "FILE" };

    public Option<string?> Ca { get; } = new("--ca") { Description = "FTPS: trust certificates issued by this PEM CA file.", HelpName = "FILE" };

    public Option<string?> Fingerprint { get; } = new("--fingerprint") { Description = "FTPS: trust the certificate with this SHA-256 fingerprint.", HelpName = "SHA256:HEX" };

    public Option<bool> Insecure { get; } = new("--insecure") { Description = "FTPS: accept any certificate (encrypted but not authenticated)." };

    public Option<string?> TlsName { get; } = new("--tls-name") { Description = "FTPS: the server's name for TLS when the URL gives an IP address.", HelpName = "NAME" };

    public IEnumerable<Option> All => [PasswordStdin, Identity, HostKey, KnownHosts, Ca, Fingerprint, Insecure, TlsName];

    public void AddTo(Command command)
    {
        foreach (var option in All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The endpoint for <paramref name="address"/>, not yet connected.</summary>
    public IFileEndpoint Open(EndpointAddress address, ParseResult parse)
    {
        switch (address.Kind)
        {
            case EndpointKind.Sftp:
                var account = address.User ?? Environment.UserName;
                var identity = parse.GetValue(Identity);
                var knownHosts = parse.GetValue(KnownHosts);
                var hostKey = parse.GetValue(HostKey);
                if (hostKey is not null && knownHosts is not null)
                {
                    throw CliException.Usage("Give either --host-key or --known-hosts, not both.");
                }

                if (identity is not null && !File.Exists(identity))
                {
                    throw CliException.Usage($"--identity: {identity} does not exist.");
                }

                var defaultKnownHosts = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "known_hosts");
                return new SftpEndpoint(new SftpSettings(address.Host, address.Port, account)
                {
                    // A key's passphrase comes the way a password would, when one is offered.
                    Password = identity is null ? Password(parse, $"Password for {account} at {address.Host}: ", Key(address, account)) : OptionalSecret(parse, Key(address, account)),
                    IdentityFile = identity is null ? null : Path.GetFullPath(identity),
                    HostKey = hostKey,
                    KnownHosts = knownHosts is not null ? Path.GetFullPath(knownHosts) : hostKey is null && File.Exists(defaultKnownHosts) ? defaultKnownHosts : null,
                });
            default:
                var user = address.User ?? "anonymous";
                var security = address.Kind switch
                {
                    EndpointKind.Ftp => FtpSecurity.None,
                    EndpointKind.FtpsImplicit => FtpSecurity.Implicit,
                    _ => FtpSecurity.Explicit,
                };
                var settings = new FtpSettings(address.Host, address.Port, user, Password(parse, $"Password for {user} at {address.Host}: ", Key(address, user)), security, FtpTrust(parse))
                {
                    TlsName = parse.GetValue(TlsName),
                };
                return new FtpEndpoint(settings);
        }
    }

    private ServerTrust FtpTrust(ParseResult parse)
    {
        var ca = parse.GetValue(Ca);
        var fingerprint = parse.GetValue(Fingerprint);
        var insecure = parse.GetValue(Insecure);
        if ((ca is not null ? 1 : 0) + (fingerprint is not null ? 1 : 0) + (insecure ? 1 : 0) > 1)
        {
            throw CliException.Usage("Give one of --ca, --fingerprint and --insecure.");
        }

        if (insecure)
        {
            return ServerTrust.AnyCertificate();
        }

        if (fingerprint is not null)
        {
            try
            {
                return new ServerTrust(fingerprint);
            }
            catch (FormatException ex)
            {
                throw CliException.Usage("--fingerprint: " + ex.Message);
            }
        }

        if (ca is not null)
        {
            try
            {
                return ServerTrust.FromCaFile(Path.GetFullPath(ca));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or CryptographicException)
            {
                throw CliException.Usage($"--ca: {ca} cannot be used: {ex.Message}");
            }
        }

        return ServerTrust.System;
    }

    /// <summary>Which server a secret is for: it is never offered to another one.</summary>
    private static string Key(EndpointAddress address, string user) => $"{address.Kind}|{user}|{address.Host}|{address.Port}";

    /// <summary>A key's passphrase: from stdin or SXFER_REMOTE_PASSWORD when given that way, else none.</summary>
    private string? OptionalSecret(ParseResult parse, string server) =>
        parse.GetValue(PasswordStdin) || Environment.GetEnvironmentVariable(PasswordVariable) is { Length: > 0 } ? Password(parse, string.Empty, server) : null;

    /// <summary>
    /// The password: stdin's first line, else SXFER_REMOTE_PASSWORD, else a prompt on a terminal.
    /// Asked once per run, for one server: a second server (a sync between two of them) would
    /// otherwise be sent the first one's password.
    /// </summary>
    public string Password(ParseResult parse, string prompt, string server)
    {
        if (_passwordFor is not null && _passwordFor != server)
        {
            throw CliException.Usage("One password (from --password-stdin, SXFER_REMOTE_PASSWORD or a prompt) serves one server; between two FTP/SFTP servers, log in to at least one with --identity, or sync through the SecureXfer server.");
        }

        if (_password is not null)
        {
            return _password;
        }

        _passwordFor = server;

        if (parse.GetValue(PasswordStdin))
        {
            _password = Prompts.ReadLineFromStdin() ?? throw CliException.Usage("--password-stdin was given but stdin is empty.");
        }
        else if (Environment.GetEnvironmentVariable(PasswordVariable) is { Length: > 0 } fromEnvironment)
        {
            _password = fromEnvironment;
        }
        else if (Prompts.CanPromptForPassword)
        {
            _password = Prompts.ReadSecret(prompt);
        }
        else
        {
            throw CliException.Usage($"No password for the remote server: pass it on stdin with --password-stdin, or in {PasswordVariable}.");
        }

        return _password;
    }
}
