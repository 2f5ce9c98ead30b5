using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;

namespace SecureXfer.Server.Accounts;

/// <summary>
/// Issues and checks access tokens (HS256 JWTs). A token names the user and carries the
/// user's security stamp; it is accepted only while issuer, audience, lifetime, algorithm
/// and signature hold AND the stamp still matches a user who is not disabled.
/// </summary>
public sealed class TokenService
{
    public const string StampClaim = "sx_stamp";

    private readonly SecureXferOptions _options;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TimeProvider _time;

    public TokenService(IOptions<SecureXferOptions> options, DataDirectory data, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        SigningKey = new SymmetricSecurityKey(LoadOrCreateKey(data.JwtKey)) { KeyId = "sx1" };
        ValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKey = SigningKey,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = JwtRegisteredClaimNames.Name,
            RoleClaimType = "role",
        };
    }

    public SymmetricSecurityKey SigningKey { get; }

    public TokenValidationParameters ValidationParameters { get; }

    public (string Token, DateTimeOffset ExpiresAt) Issue(UserAccount user)
    {
        var now = _time.GetUtcNow();
        var expires = now + _options.TokenLifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(SigningKey, SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [JwtRegisteredClaimNames.Name] = user.Username,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
                ["role"] = user.Role,
                [StampClaim] = user.SecurityStamp,
            },
        });
        return (token, expires);
    }

    /// <summary>Checks signature, algorithm, issuer, audience and lifetime. The account itself is checked by <see cref="AccountService"/>.</summary>
    public async Task<ClaimsIdentity?> ValidateAsync(string token) => (await CheckAsync(token).ConfigureAwait(false)).Identity;

    /// <summary>
    /// Validates a token; when it is refused, <c>Forged</c> says whether it was never ours
    /// (malformed, unsigned, wrong key or algorithm, wrong issuer or audience) rather than one
    /// of ours that has expired or is not valid yet, which honest clients send too.
    /// </summary>
    public async Task<(ClaimsIdentity? Identity, bool Forged)> CheckAsync(string token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 8192)
        {
            return (null, true);
        }

        var result = await _handler.ValidateTokenAsync(token, ValidationParameters).ConfigureAwait(false);
        if (result.IsValid)
        {
            return (result.ClaimsIdentity, false);
        }

        return (null, result.Exception is not (SecurityTokenExpiredException or SecurityTokenNotYetValidException));
    }

    private static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            var key = Convert.FromBase64String(File.ReadAllText(path).Trim());
            if (key.Length >= 32)
            {
                return key;
            }
        }

        var fresh = RandomNumberGenerator.GetBytes(32);
        DataDirectory.WriteSecret(path, Convert.ToBase64String(fresh));
        return fresh;
    }
}
