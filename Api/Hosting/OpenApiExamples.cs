using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using SecureXfer.Shared.Protocol;
using SecureXfer.Shared.Rest;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SecureXfer.Api.Hosting;

/// <summary>Example bodies in the OpenAPI document, so Swagger UI's "Try it out" starts from something sensible.</summary>
internal sealed class OpenApiExamples : ISchemaFilter
{
    private static readonly Dictionary<Type, string> Examples = new()
    {
        [typeof(LoginRequest)] = """{"username":"admin","password":"your password"}""",
        [typeof(RefreshRequest)] = """{"refreshToken":"sxr_0123456789abcdef01234567.secret"}""",
        [typeof(LogoutRequest)] = """{"refreshToken":null}""",
        [typeof(CreateUserRequest)] = """{"username":"alice","password":"a long passphrase","role":"user","quotaBytes":10737418240,"displayName":"Alice Example"}""",
        [typeof(UpdateUserRequest)] = """{"role":"auditor","quotaBytes":null,"disabled":false,"displayName":"Alice E."}""",
        [typeof(ResetPasswordRequest)] = """{"password":"a new long passphrase"}""",
        [typeof(ChangePasswordRequest)] = """{"currentPassword":"the current one","newPassword":"a new long passphrase"}""",
        [typeof(CreateKeyRequest)] = """{"name":"nightly backup","expiresAt":null}""",
        [typeof(PathRequest)] = """{"path":"/reports/2026"}""",
        [typeof(MoveRequest)] = """{"from":"/reports/draft.pdf","to":"/reports/final.pdf","overwrite":false}""",
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema concrete && Examples.TryGetValue(context.Type, out var example))
        {
            concrete.Examples = [JsonNode.Parse(example)!];
        }
    }
}
