using System.Globalization;

namespace SecureXfer.Shared.Endpoints;

public enum EndpointKind
{
    Ftp,
    Ftps,
    FtpsImplicit,
    Sftp,
}

/// <summary>
/// A remote endpoint named by URL: <c>ftp://</c>, <c>ftps://</c> (explicit TLS; on port 990,
/// implicit TLS) or <c>sftp://user@host[:port]/path</c>. Paths follow curl: for FTP they are
/// relative to the login directory (<c>ftp://h//abs</c> is absolute); for SFTP
/// <c>sftp://h/abs/path</c> is absolute and <c>sftp://h/~/p</c> is under the home directory.
/// A password in the URL is refused: it would end up in shell history and process lists.
/// </summary>
public sealed record EndpointAddress(EndpointKind Kind, string Host, int Port, string? User, string Path)
{
    public const int ImplicitFtpsPort = 990;

    public static bool IsAddress(string text) => TryScheme(text, out _);

    private static bool TryScheme(string text, out EndpointKind kind)
    {
        kind = EndpointKind.Ftp;
        var colon = text.IndexOf("://", StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        switch (text[..colon].ToLowerInvariant())
        {
            case "ftp":
                kind = EndpointKind.Ftp;
                return true;
            case "ftps":
                kind = EndpointKind.Ftps;
                return true;
            case "sftp":
                kind = EndpointKind.Sftp;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Parses an address; a <see cref="FormatException"/> says what is wrong.</summary>
    public static EndpointAddress Parse(string text)
    {
        if (!TryScheme(text, out var kind))
        {
            throw new FormatException($"'{text}' is not an ftp://, ftps:// or sftp:// address.");
        }

        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var rawPath = slash < 0 ? string.Empty : rest[(slash + 1)..];

        string? user = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            user = Uri.UnescapeDataString(authority[..at]);
            authority = authority[(at + 1)..];
            if (user.Contains(':', StringComparison.Ordinal))
            {
                throw new FormatException("Do not put a password in the address; use --password-stdin or SXFER_REMOTE_PASSWORD.");
            }

            if (user.Length == 0)
            {
                user = null;
            }
        }

        string host;
        var port = kind == EndpointKind.Sftp ? 22 : 21;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"'{text}': unclosed '[' in the host.");
            }

            host = authority[1..close];
            authority = authority[(close + 1)..];
            if (authority.StartsWith(':'))
            {
                port = ParsePort(authority[1..], text);
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            if (colon >= 0)
            {
                port = ParsePort(authority[(colon + 1)..], text);
            }
        }

        if (host.Length == 0)
        {
            throw new FormatException($"'{text}' names no host.");
        }

        if (kind == EndpointKind.Ftps && port == ImplicitFtpsPort)
        {
            kind = EndpointKind.FtpsImplicit;
        }

        var path = Uri.UnescapeDataString(rawPath);
        if (path.Contains('\0', StringComparison.Ordinal) || path.Any(c => c is '\r' or '\n'))
        {
            throw new FormatException($"'{text}': the path contains a control character.");
        }

        if (kind == EndpointKind.Sftp)
        {
            // sftp://h/abs is absolute; sftp://h/~/p is under the home directory (relative).
            path = path == "~" ? string.Empty : path.StartsWith("~/", StringComparison.Ordinal) ? path[2..] : "/" + path;
        }

        return new EndpointAddress(kind, host, port, user, path.Length > 1 ? path.TrimEnd('/') : path);
    }

    private static int ParsePort(string text, string address) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"'{address}': '{text}' is not a port.");

    public override string ToString()
    {
        var scheme = Kind switch
        {
            EndpointKind.Sftp => "sftp",
            EndpointKind.Ftp => "ftp",
            _ => "ftps",
        };
        var user = User is null ? string.Empty : Uri.EscapeDataString(User) + "@";
        var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        var path = Kind == EndpointKind.Sftp && !Path.StartsWith('/') ? "/~/" + Path : "/" + Path;
        return $"{scheme}://{user}{host}:{Port.ToString(CultureInfo.InvariantCulture)}{path}";
    }
}
