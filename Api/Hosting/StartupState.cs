using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Storage;

namespace SecureXfer.Api.Hosting;

/// <summary>What start-up prepared before the host was built, and the listeners whose bound ports it reports.</summary>
internal sealed class StartupState(SecureXferOptions options, DataDirectory data, X509Certificate2 certificate, FileStream inUse)
{
    /// <summary>The data directory's shared lock, held for the life of the process.</summary>
    public FileStream InUse { get; } = inUse;

    public SecureXferOptions Options { get; } = options;

    public DataDirectory Data { get; } = data;

    public X509Certificate2 Certificate { get; } = certificate;

    public ListenOptions? Https { get; set; }

    public ListenOptions? Sxp { get; set; }
}
