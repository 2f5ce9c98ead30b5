using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Endpoints.Ftp;
using SecureXfer.Shared.Endpoints.Sftp;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Security;

namespace SecureXfer.Server.Remotes;

/// <summary>
/// Remotes: users' connection profiles for FTP, FTPS and SFTP servers. Each belongs to one
/// user; others (admins aside) see "not found". Passwords and private keys are encrypted with
/// ASP.NET Core Data Protection (keys in the data directory) and leave this class only inside
/// an endpoint, never in an answer. Hosts pass the <see cref="NetworkGuard"/> when saved and
/// again on every connection.
/// </summary>
public sealed class RemoteService(IDbContextFactory<SecureXferDbContext> dbFactory, IDataProtectionProvider protection, NetworkGuard guard, TimeProvider time)
{
    public const int MaxPerUser = 100;

    private static readonly string[] Kinds = ["ftp", "ftps", "ftps-implicit", "sftp"];

    private readonly IDataProtector _protector = protection.CreateProtector("SecureXfer.Remotes.v1");

    public async Task<IReadOnlyList<RemoteResponse>> ListAsync(AuthenticatedUser caller, bool everyone, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var query = db.Remotes.AsNoTracking();
        if (!(everyone && caller.Role == Roles.Admin))
        {
            query = query.Where(r => r.OwnerId == caller.Id);
        }

        var found = await query.ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. found.OrderBy(r => r.OwnerId).ThenBy(r => r.Name, StringComparer.Ordinal).Select(ToResponse)];
    }

    public async Task<RemoteResponse> GetAsync(AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return ToResponse(await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false));
    }

    public async Task<RemoteResponse> CreateAsync(AuthenticatedUser caller, RemoteRequest request, CancellationToken cancellationToken)
    {
        var kind = Required(request.Kind, "kind").ToLowerInvariant();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var record = new RemoteRecord
        {
            Id = "rmt_" + Guid.NewGuid().ToString("N")[..16],
            OwnerId = caller.Id,
            Name = Required(request.Name, "name"),
            Kind = kind,
            Host = Required(request.Host, "host"),
            Port = request.Port ?? DefaultPort(kind),
            User = Required(request.User, "user"),
            CreatedAt = now,
            UpdatedAt = now,
        };
        Apply(record, request with { Name = null, Kind = null, Host = null, Port = null, User = null });
        await ValidateAsync(record, cancellationToken).ConfigureAwait(false);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (await db.Remotes.CountAsync(r => r.OwnerId == caller.Id, cancellationToken).ConfigureAwait(false) >= MaxPerUser)
        {
            throw new AccountException(AccountError.Conflict, $"A user may keep at most {MaxPerUser} remotes.");
        }

        if (await db.Remotes.AnyAsync(r => r.OwnerId == caller.Id && r.Name == record.Name, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(AccountError.Conflict, $"You already have a remote named '{record.Name}'.");
        }

        db.Remotes.Add(record);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return ToResponse(record);
    }

    public async Task<RemoteResponse> UpdateAsync(AuthenticatedUser caller, string id, RemoteRequest request, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        if (request.Name is { } name && name != record.Name
            && await db.Remotes.AnyAsync(r => r.OwnerId == record.OwnerId && r.Name == name, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(AccountError.Conflict, $"There is already a remote named '{name}'.");
        }

        Apply(record, request);
        await ValidateAsync(record, cancellationToken).ConfigureAwait(false);
        record.UpdatedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return ToResponse(record);
    }

    public async Task DeleteAsync(AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        db.Remotes.Remove(record);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Connects, logs in and lists the login directory. Reports the server's host-key or
    /// certificate fingerprint whether or not it is trusted, so it can be pinned.
    /// </summary>
    public async Task<RemoteTestResponse> TestAsync(AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        RemoteRecord record;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            record = await FindAsync(db, caller, id, cancellationToken).ConfigureAwait(false);
        }

        var trust = record.Kind == "sftp" ? null : TlsTrust(record);
        try
        {
            await using var endpoint = await OpenAsync(record, trust, cancellationToken).ConfigureAwait(false);
            var listed = await endpoint.ListAsync(string.Empty, cancellationToken).ConfigureAwait(false);
            var seen = trust?.LastSeen is { } certificate ? CertificateFingerprint.Of(certificate) : record.HostKey;
            return new RemoteTestResponse(true, seen, true, $"Logged in; the login directory holds {listed.Count.ToString(CultureInfo.InvariantCulture)} entries.");
        }
        catch (UnknownHostKeyException ex)
        {
            return new RemoteTestResponse(false, ex.Fingerprint, false, ex.Message);
        }
        catch (UntrustedServerException ex)
        {
            return new RemoteTestResponse(false, ex.Fingerprint, false, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var seen = trust?.LastSeen is { } certificate ? CertificateFingerprint.Of(certificate) : null;
            return new RemoteTestResponse(false, seen, seen is not null, ex is OperationCanceledException ? "The server did not answer in time." : ex.Message);
        }
    }

    /// <summary>The endpoint for a remote the caller owns (or any, for an admin or the scheduler with <paramref name="caller"/> null); the caller disposes it.</summary>
    public async Task<IFileEndpoint> OpenAsync(AuthenticatedUser? caller, long ownerId, string id, CancellationToken cancellationToken)
    {
        RemoteRecord record;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            record = await db.Remotes.AsNoTracking().SingleOrDefaultAsync(r => r.Id == id && r.OwnerId == ownerId, cancellationToken).ConfigureAwait(false)
                ?? throw new AccountException(AccountError.NotFound, "No such remote.");
        }

        if (caller is not null && caller.Id != record.OwnerId && caller.Role != Roles.Admin)
        {
            throw new AccountException(AccountError.NotFound, "No such remote.");
        }

        return await OpenAsync(record, record.Kind == "sftp" ? null : TlsTrust(record), cancellationToken).ConfigureAwait(false);
    }

    private async Task<IFileEndpoint> OpenAsync(RemoteRecord record, ServerTrust? trust, CancellationToken cancellationToken)
    {
        // Checked again now: the name may resolve elsewhere than when it was saved.
        var address = (await guard.ResolveAsync(record.Host, cancellationToken).ConfigureAwait(false)).ToString();
        var password = Unprotect(record.PasswordProtected);
        if (record.Kind == "sftp")
        {
            return new SftpEndpoint(new SftpSettings(address, record.Port, record.User)
            {
                Password = password,
                PrivateKey = Unprotect(record.PrivateKeyProtected),
                HostKey = record.HostKey,
            });
        }

        var security = record.Kind switch
        {
            "ftp" => FtpSecurity.None,
            "ftps-implicit" => FtpSecurity.Implicit,
            _ => FtpSecurity.Explicit,
        };
        return new FtpEndpoint(new FtpSettings(address, record.Port, record.User, password ?? string.Empty, security, trust!)
        {
            TlsName = record.TlsName ?? (address == record.Host ? null : record.Host),
        });
    }

    private static ServerTrust TlsTrust(RemoteRecord record) =>
        record.TlsFingerprint is { } pin ? new ServerTrust(pin) : ServerTrust.System;

    private static async Task<RemoteRecord> FindAsync(SecureXferDbContext db, AuthenticatedUser caller, string id, CancellationToken cancellationToken)
    {
        var record = await db.Remotes.SingleOrDefaultAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
        return record is not null && (record.OwnerId == caller.Id || caller.Role == Roles.Admin)
            ? record
            : throw new AccountException(AccountError.NotFound, "No such remote.");
    }

    private void Apply(RemoteRecord record, RemoteRequest request)
    {
        if (request.Name is not null)
        {
            record.Name = request.Name.Trim();
        }

        if (request.Kind is not null)
        {
            record.Kind = request.Kind.Trim().ToLowerInvariant();
        }

        if (request.Host is not null)
        {
            record.Host = request.Host.Trim();
        }

        if (request.Port is { } port)
        {
            record.Port = port;
        }

        if (request.User is not null)
        {
            record.User = request.User;
        }

        if (request.Password is not null)
        {
            record.PasswordProtected = request.Password.Length == 0 ? null : _protector.Protect(request.Password);
        }

        if (request.PrivateKey is not null)
        {
            record.PrivateKeyProtected = request.PrivateKey.Length == 0 ? null : _protector.Protect(request.PrivateKey);
        }

        if (request.HostKey is not null)
        {
            record.HostKey = request.HostKey.Length == 0 ? null : request.HostKey.Trim();
        }

        if (request.TlsFingerprint is not null)
        {
            record.TlsFingerprint = request.TlsFingerprint.Length == 0 ? null : request.TlsFingerprint.Trim();
        }

        if (request.TlsName is not null)
        {
            record.TlsName = request.TlsName.Length == 0 ? null : request.TlsName.Trim();
        }
    }

    private async Task ValidateAsync(RemoteRecord record, CancellationToken cancellationToken)
    {
        if (record.Name.Length is 0 or > 100 || record.Name.Any(char.IsControl))
        {
            throw new AccountException(AccountError.Invalid, "name is 1 to 100 characters, without control characters.", "name");
        }

        if (!Kinds.Contains(record.Kind))
        {
            throw new AccountException(AccountError.Invalid, "kind is one of ftp, ftps, ftps-implicit and sftp.", "kind");
        }

        if (record.Port is < 1 or > 65535)
        {
            throw new AccountException(AccountError.Invalid, "port is between 1 and 65535.", "port");
        }

        if (record.Host.Length is 0 or > 253 || record.Host.Any(c => char.IsControl(c) || c is ' ' or '/' or '@'))
        {
            throw new AccountException(AccountError.Invalid, "host is a host name or an IP address.", "host");
        }

        if (record.User.Length is 0 or > 100 || record.User.Any(char.IsControl))
        {
            throw new AccountException(AccountError.Invalid, "user is 1 to 100 characters, without control characters.", "user");
        }

        foreach (var (value, field) in new[] { (record.HostKey, "hostKey"), (record.TlsFingerprint, "tlsFingerprint") })
        {
            if (value is not null)
            {
                try
                {
                    CertificateFingerprint.Parse(value);
                }
                catch (FormatException)
                {
                    throw new AccountException(AccountError.Invalid, $"{field} is SHA256: followed by the fingerprint (base64 as ssh-keygen prints it, or hex).", field);
                }
            }
        }

        if (record.Kind != "sftp" && record.PrivateKeyProtected is not null)
        {
            throw new AccountException(AccountError.Invalid, "privateKey is for sftp remotes only.", "privateKey");
        }

        await guard.ResolveAsync(record.Host, cancellationToken).ConfigureAwait(false);
    }

    private static string Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new AccountException(AccountError.Invalid, $"{field} is required.", field) : value.Trim();

    private static int DefaultPort(string kind) => kind switch
    {
        "sftp" => 22,
        "ftps-implicit" => EndpointAddress.ImplicitFtpsPort,
        _ => 21,
    };

    private string? Unprotect(string? protectedValue) => protectedValue is null ? null : _protector.Unprotect(protectedValue);

    private static RemoteResponse ToResponse(RemoteRecord r) => new(
        r.Id, r.OwnerId, r.Name, r.Kind, r.Host, r.Port, r.User, r.PasswordProtected is not null, r.PrivateKeyProtected is not null,
        r.HostKey, r.TlsFingerprint, r.TlsName,
        DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedAt));
}
