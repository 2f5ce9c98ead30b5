using System.Net;
using System.Net.Http.Headers;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>
/// Tokens made with the server's own signing key but wrong in one respect (audience, issuer,
/// lifetime, algorithm, stamp), and well-formed tokens from a foreign key: every one is 401.
/// The control token, made the same way with everything right, is accepted, so the refusals
/// are for the stated reason.
/// </summary>
public sealed class ForgedTokenTests
{
    [Fact]
    public async Task Tokens_wrong_in_any_one_respect_are_refused()
    {
        await using var server = await ServerProcess.StartAsync();
        var key = new SymmetricSecurityKey(Convert.FromBase64String(File.ReadAllText(Path.Combine(server.DataDir, "jwt-signing.key")).Trim()));
        var foreign = new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var id = server.Scalar("SELECT id FROM users WHERE username = 'admin'").ToString(System.Globalization.CultureInfo.InvariantCulture);
        var stamp = server.ScalarText("SELECT security_stamp FROM users WHERE username = 'admin'")!;
        var now = DateTime.UtcNow;

        string Make(string issuer = "securexfer", string audience = "securexfer", DateTime? notBefore = null, DateTime? expires = null,
            SecurityKey? signingKey = null, string algorithm = SecurityAlgorithms.HmacSha256, string? tokenStamp = null)
        {
            var handler = new JsonWebTokenHandler();
            return handler.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer,
                Audience = audience,
                IssuedAt = (notBefore ?? now.AddMinutes(-1)),
                NotBefore = notBefore ?? now.AddMinutes(-1),
                Expires = expires ?? now.AddMinutes(10),
                SigningCredentials = new SigningCredentials(signingKey ?? key, algorithm),
                Claims = new Dictionary<string, object> { ["sub"] = id, ["sx_stamp"] = tokenStamp ?? stamp, ["jti"] = Guid.NewGuid().ToString("N") },
            });
        }

        // The same claims under another algorithm header, signed by hand with the server's key.
        static string Resign(string token, string algorithm, Func<byte[], byte[]> sign)
        {
            var payload = token.Split('.')[1];
            var header = Base64Url(System.Text.Encoding.UTF8.GetBytes($"{{\"alg\":\"{algorithm}\",\"typ\":\"JWT\"}}"));
            var signature = Base64Url(sign(System.Text.Encoding.ASCII.GetBytes(header + "." + payload)));
            return header + "." + payload + "." + signature;
        }

        static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        async Task<HttpStatusCode> MeAsync(string token)
        {
            using var http = server.CreateHttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await MeAsync(Make()));
        var forged = new Dictionary<string, string>
        {
            ["wrong audience"] = Make(audience: "someone-else"),
            ["wrong issuer"] = Make(issuer: "evil"),
            ["expired"] = Make(notBefore: now.AddHours(-3), expires: now.AddHours(-2)),
            ["not yet valid"] = Make(notBefore: now.AddHours(2), expires: now.AddHours(3)),
            ["HS512"] = Resign(Make(), "HS512", data => System.Security.Cryptography.HMACSHA512.HashData(key.Key, data)),
            ["foreign key"] = Make(signingKey: foreign),
            ["stale stamp"] = Make(tokenStamp: "0123456789abcdef0123456789abcdef"),
        };
        foreach (var (why, token) in forged)
        {
            Assert.True(await MeAsync(token) == HttpStatusCode.Unauthorized, $"a token with {why} was accepted");
        }

        // The same tokens on SXP: refused at AUTH.
        foreach (var (why, token) in forged)
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var client = new SecureXfer.Shared.Protocol.Client.SxpClient(server.Endpoint, token);
                await client.ListAsync("/", CancellationToken.None);
            });
            Assert.True(error is SecureXfer.Shared.Protocol.SxpException { Code: SecureXfer.Shared.Protocol.ErrorCode.AuthFailed }, $"{why}: {error.GetType().Name} {error.Message}");
        }
    }
}
