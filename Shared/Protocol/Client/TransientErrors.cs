using System.Net.Sockets;
using System.Security.Authentication;
using SecureXfer.Shared.Security;

namespace SecureXfer.Shared.Protocol.Client;

/// <summary>Sorts failures into those worth trying again (a dropped connection, a busy server) and the rest.</summary>
public static class TransientErrors
{
    /// <summary>A network failure, a timeout, or a server refusal that a retry can cure.</summary>
    public static bool IsTransient(Exception error) => error switch
    {
        SxpException sxp => sxp.Code is ErrorCode.Busy or ErrorCode.Timeout or ErrorCode.UploadGone or ErrorCode.Internal,
        Endpoints.Ftp.FtpException ftp => ftp.Transient || ftp.Code == 0 || IsNetwork(ftp),
        Endpoints.Sftp.SftpException sftp => sftp.ConnectionLost,
        SocketException or TimeoutException => true,
        IOException io => IsNetwork(io),
        _ => false,
    };

    /// <summary>A failure that ends a whole run rather than one file: the login or the server's identity was refused, or the server is full.</summary>
    public static bool IsFatal(Exception error) => error switch
    {
        SxpException sxp => sxp.Code is ErrorCode.AuthFailed or ErrorCode.AuthRequired or ErrorCode.StorageFull or ErrorCode.UnsupportedVersion,
        Endpoints.Ftp.FtpException ftp => ftp.Code is 530 or 522,
        Endpoints.Sftp.SftpException sftp => sftp.Status == 530,
        Endpoints.Sftp.UnknownHostKeyException => true,
        UntrustedServerException or AuthenticationException => true,
        _ => false,
    };

    /// <summary>A dropped or refused connection, as opposed to a local disk problem.</summary>
    public static bool IsNetwork(IOException error)
    {
        for (Exception? current = error; current is not null; current = current.InnerException)
        {
            if (current is SocketException or AuthenticationException)
            {
                return true;
            }
        }

        var origin = error.TargetSite?.DeclaringType?.FullName ?? string.Empty;
        return origin.StartsWith("SecureXfer.Shared.Protocol", StringComparison.Ordinal)
            || origin.StartsWith("System.Net", StringComparison.Ordinal);
    }
}
