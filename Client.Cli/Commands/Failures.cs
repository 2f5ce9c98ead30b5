using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using SecureXfer.Cli.Remote;
using SecureXfer.Shared.Endpoints.Ftp;
using SecureXfer.Shared.Endpoints.Sftp;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Security;
using SecureXfer.Shared.Sync;

namespace SecureXfer.Cli.Commands;

/// <summary>Turns whatever a command threw into an exit code, a JSON error code and one line of text.</summary>
internal static class Failures
{
    public static CliException Explain(Exception error, RemoteSession? session, CancellationToken cancellationToken)
    {
        switch (error)
        {
            case CliException cli:
                return cli;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return new CliException(ExitCodes.Interrupted, "interrupted", "Interrupted; run the same command again to resume.");
            case SxpException sxp:
                return FromProtocol(sxp);
            case FtpException ftp:
                return ftp.Code == 530
                    ? new CliException(ExitCodes.Auth, "auth_failed", ftp.Message)
                    : new CliException(ftp.Code == 550 ? ExitCodes.NotFound : ExitCodes.Failure, ftp.Code == 550 ? "not_found" : "remote_failed", ftp.Message);
            case SftpException sftp:
                return sftp.Status == 530
                    ? new CliException(ExitCodes.Auth, "auth_failed", sftp.Message)
                    : new CliException(sftp.Status is 2 or 10 ? ExitCodes.NotFound : ExitCodes.Failure, sftp.Status is 2 or 10 ? "not_found" : "remote_failed", sftp.Message);
            case UnknownHostKeyException hostKey:
                return new CliException(ExitCodes.Failure, "untrusted_server", hostKey.Message) { Fingerprint = hostKey.Fingerprint };
            case SyncRefusedException refused:
                return new CliException(refused.NotFound ? ExitCodes.NotFound : ExitCodes.Failure, refused.NotFound ? "not_found" : "sync_refused", refused.Message);
            case FileNotFoundException or DirectoryNotFoundException:
                return new CliException(ExitCodes.NotFound, "not_found", error.Message);
            case UnauthorizedAccessException:
                return new CliException(ExitCodes.Failure, "permission_denied", error.Message);
            case UntrustedServerException untrusted:
                return UntrustedServer(untrusted, session);
            case AuthenticationException:
                return new CliException(ExitCodes.Failure, "untrusted_server", error.Message);
            case SocketException socket:
                return ConnectionFailed(socket.Message, session);
            case HttpRequestException http:
                return ConnectionFailed(Innermost(http).Message, session);
            case TimeoutException or OperationCanceledException:
                return ConnectionFailed("The server did not answer in time.", session);
            case IOException io when TransientErrors.IsNetwork(io):
                return ConnectionFailed(Innermost(io).Message, session);
            case IOException io:
                return new CliException(ExitCodes.Failure, "io_error", io.Message);
            default:
                return new CliException(ExitCodes.Failure, "failed", error.Message);
        }
    }

    private static CliException FromProtocol(SxpException error)
    {
        var code = SnakeCase(error.Code.ToString());
        switch (error.Code)
        {
            case ErrorCode.AuthRequired or ErrorCode.AuthFailed:
                var hint = error.Message.Contains("log in", StringComparison.OrdinalIgnoreCase) ? string.Empty : " Run 'sxfer login' again.";
                return new CliException(ExitCodes.Auth, "auth_failed", error.Message + hint);
            case ErrorCode.NotFound:
                return new CliException(ExitCodes.NotFound, code, error.Message);
            case ErrorCode.IntegrityFailed or ErrorCode.Conflict:
                return new CliException(ExitCodes.Integrity, code, error.Message);
            default:
                return new CliException(ExitCodes.Failure, code, error.Message);
        }
    }

    private static CliException UntrustedServer(UntrustedServerException error, RemoteSession? session)
    {
        if (session is null && error.Message.Contains("FTPS", StringComparison.Ordinal))
        {
            return new CliException(ExitCodes.Failure, "untrusted_server", $"{error.Message} Trust it with --fingerprint {error.Fingerprint} or --ca FILE.")
            {
                Fingerprint = error.Fingerprint,
            };
        }

        var how = session is null ? string.Empty
            : session.State.CaFile is not null ? $" It is not signed by the CA in {session.State.CaFile}."
            : $" It does not match the pinned {session.State.Fingerprint}.";
        return new CliException(ExitCodes.Failure, "untrusted_server",
            $"{error.Message}{how} If the server's certificate was replaced on purpose, run 'sxfer login' again.")
        {
            Fingerprint = error.Fingerprint,
        };
    }

    private static CliException ConnectionFailed(string detail, RemoteSession? session)
    {
        var where = session is null ? string.Empty : $" {session.State.Host}:{session.State.SxpPort}";
        return new CliException(ExitCodes.Failure, "connection_failed", $"Connection to the server{where} failed: {detail}");
    }

    private static Exception Innermost(Exception error)
    {
        var current = error;
        while (current.InnerException is not null)
        {
            current = current.InnerException;
        }

        return current;
    }

    /// <summary>IntegrityFailed becomes integrity_failed.</summary>
    public static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }
}
