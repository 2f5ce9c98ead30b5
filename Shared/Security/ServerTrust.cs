using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureXfer.Shared.Security;

/// <summary>
/// How a client decides to trust a server certificate: a pinned SHA-256 fingerprint (trust
/// on first use, like SSH known_hosts), a CA bundle given explicitly, or the system store.
/// The pin wins over the CA; with neither, only the system store counts.
/// </summary>
public sealed class ServerTrust
{
    private readonly byte[]? _pin;
    private readonly X509Certificate2Collection? _roots;

    public ServerTrust(string? fingerprint = null, X509Certificate2Collection? roots = null)
    {
        _pin = fingerprint is null ? null : CertificateFingerprint.Parse(fingerprint);
        _roots = roots;
    }

    private bool _anyCertificate;

    /// <summary>
    /// Accepts whatever certificate the server shows: encryption without authentication, for an
    /// explicit opt-out (<c>--insecure</c>) only. <see cref="LastSeen"/> still records it.
    /// </summary>
    public static ServerTrust AnyCertificate() => new() { _anyCertificate = true };

    /// <summary>Trust through the system store alone. A new instance each time, so <see cref="LastSeen"/> is never shared.</summary>
    public static ServerTrust System => new();

    public static ServerTrust FromCaFile(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"No certificate found in {path}.");
        }

        return new ServerTrust(null, roots);
    }

    /// <summary>The certificate the last validation saw, for trust-on-first-use prompts.</summary>
    public X509Certificate2? LastSeen { get; private set; }

    public bool Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        // A copy: the TLS stack disposes its own certificate object once the handshake ends.
        var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        LastSeen = leaf;
        if (_anyCertificate)
        {
            return true;
        }

        if (_pin is not null)
        {
            return CryptographicOperations.FixedTimeEquals(_pin, SHA256.HashData(leaf.RawData));
        }

        if (_roots is null)
        {
            return errors == SslPolicyErrors.None;
        }

        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(leaf);
    }
}

/// <summary>SHA-256 fingerprints of certificates, written as <c>SHA256:</c> and 64 hex digits.</summary>
public static class CertificateFingerprint
{
    public static string Of(X509Certificate2 certificate) => Format(SHA256.HashData(certificate.RawData));

    public static string Format(ReadOnlySpan<byte> digest) => "SHA256:" + Convert.ToHexStringLower(digest);

    /// <summary>Accepts <c>SHA256:</c> followed by hex (colons allowed) or unpadded base64, as SSH prints it.</summary>
    public static byte[] Parse(string text)
    {
        var value = text.Trim();
        if (value.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase))
        {
            value = value[7..];
        }

        var hex = value.Replace(":", string.Empty, StringComparison.Ordinal);
        if (hex.Length == 64 && hex.All(char.IsAsciiHexDigit))
        {
            return Convert.FromHexString(hex);
        }

        var padded = value.PadRight((value.Length + 3) / 4 * 4, '=');
        var buffer = new byte[48];
        if (Convert.TryFromBase64String(padded, buffer, out var written) && written == 32)
        {
            return buffer[..32];
        }

        throw new FormatException("A fingerprint is 'SHA256:' followed by 64 hex digits.");
    }
}
