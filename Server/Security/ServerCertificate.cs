using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Storage;

namespace SecureXfer.Server.Security;

/// <summary>
/// The certificate both listeners serve: the one configured, or a self-signed one generated
/// into the data directory on first start (ECDSA P-256, valid for localhost, 127.0.0.1, ::1
/// and this host's name) and reused afterwards. Clients pin its SHA-256 fingerprint or trust
/// it as a CA file.
/// </summary>
public static class ServerCertificate
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(825);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(14);

    public static string CertificatePath(DataDirectory data) => Path.Combine(data.Tls, "server.crt");

    public static string KeyPath(DataDirectory data) => Path.Combine(data.Tls, "server.key");

    public static X509Certificate2 LoadOrCreate(SecureXferOptions options, DataDirectory data, Action<string> announce)
    {
        if (!string.IsNullOrEmpty(options.Tls.CertificatePath))
        {
            return X509Certificate2.CreateFromPemFile(options.Tls.CertificatePath, options.Tls.KeyPath);
        }

        var certPath = CertificatePath(data);
        var keyPath = KeyPath(data);
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            var existing = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            if (existing.NotAfter.ToUniversalTime() - DateTime.UtcNow > RenewBefore)
            {
                return existing;
            }

            announce("The generated certificate is about to expire; generating a new one (clients that pinned it must accept the new fingerprint).");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var hostName = Dns.GetHostName();
        var request = new CertificateRequest($"CN={hostName}, O=SecureXfer", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        if (!string.Equals(hostName, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            names.AddDnsName(hostName);
        }

        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now + Lifetime);
        DataDirectory.WriteSecret(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, created.ExportCertificatePem());
        announce($"Generated a self-signed TLS certificate: {certPath}");
        return X509Certificate2.CreateFromPemFile(certPath, keyPath);
    }
}
