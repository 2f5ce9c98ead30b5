using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;

namespace SecureXfer.Server.Remotes;

/// <summary>
/// Keeps remotes from reaching into the server's own network (SSRF): a remote's host must
/// resolve only to public addresses, unless an address falls in a network the administrator
/// allowed (<c>SecureXfer:RemoteAllowedNetworks</c>). Loopback, link-local, private, shared
/// (100.64/10), benchmarking, unspecified and multicast addresses need that explicit allow, and so
/// do the IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible). Connections go to
/// the address that was checked, so a name cannot resolve differently in between.
/// </summary>
public sealed class NetworkGuard(IOptions<SecureXferOptions> options)
{
    private readonly IReadOnlyList<IPNetwork> _allowed = Parse(options.Value.RemoteAllowedNetworks);

    public static IReadOnlyList<IPNetwork> Parse(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(cidr => IPNetwork.TryParse(cidr, out var network)
                ? network
                : throw new InvalidOperationException($"SecureXfer:RemoteAllowedNetworks: '{cidr}' is not a network (CIDR, e.g. 10.0.0.0/8)."))];

    /// <summary>The address to connect to for <paramref name="host"/>: resolved, and checked; refused with <see cref="AccountError.Invalid"/>.</summary>
    public async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                throw new AccountException(AccountError.Invalid, $"The host name '{host}' does not resolve.", "host");
            }
        }

        // Every address must pass: otherwise a name with one public and one internal address could be used.
        var refused = addresses.FirstOrDefault(a => !Allowed(a));
        if (addresses.Length == 0 || refused is not null)
        {
            throw new AccountException(AccountError.Invalid,
                $"Remotes may not point to {refused?.ToString() ?? host} (loopback, link-local and private networks need the administrator's SecureXfer:RemoteAllowedNetworks).", "host");
        }

        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
    }

    public bool Allowed(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return !IsInternal(address) || _allowed.Any(n => n.Contains(address));
    }

    private static readonly IPNetwork[] Internal =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/3"),

        // IPv6, including every form that carries an IPv4 address inside (IPv4-compatible and
        // -translated, NAT64, 6to4, Teredo): they could reach internal IPv4 hosts.
        IPNetwork.Parse("::/96"),
        IPNetwork.Parse("::ffff:0:0:0/96"),
        IPNetwork.Parse("64:ff9b::/96"),
        IPNetwork.Parse("64:ff9b:1::/48"),
        IPNetwork.Parse("2001::/32"),
        IPNetwork.Parse("2002::/16"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fec0::/10"),
        IPNetwork.Parse("ff00::/8"),
    ];

    private static bool IsInternal(IPAddress address) => Internal.Any(n => n.Contains(address));
}
