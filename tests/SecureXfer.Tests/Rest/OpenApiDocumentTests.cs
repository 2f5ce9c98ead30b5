using Microsoft.OpenApi;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

/// <summary>The OpenAPI document parses and validates, and describes every endpoint the host serves.</summary>
public sealed class OpenApiDocumentTests
{
    [Fact]
    public async Task The_document_is_valid_and_every_operation_has_a_summary_responses_and_its_security()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = server.CreateHttpClient();
        var json = await http.GetStringAsync("/swagger/v1/swagger.json");

        var read = OpenApiDocument.Parse(json, "json");
        Assert.Empty(read.Diagnostic?.Errors ?? []);
        var document = read.Document!;
        Assert.Empty(document.Validate(Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet()) ?? []);

        var operations = document.Paths!.SelectMany(p => p.Value.Operations!.Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value))).ToList();
        Assert.True(operations.Count >= 30, $"only {operations.Count} operations documented");
        foreach (var (path, method, operation) in operations)
        {
            Assert.False(string.IsNullOrWhiteSpace(operation.Summary), $"{method} {path} has no summary");
            Assert.NotEmpty(operation.Responses!);
        }

        foreach (var expected in new[] { "/api/v1/users", "/api/v1/files/content", "/api/v1/keys", "/api/v1/audit/verify", "/api/v1/uploads/{id}", "/api/v1/bans", "/api/v1/auth/refresh", "/health", "/metrics" })
        {
            Assert.True(document.Paths.ContainsKey(expected), $"{expected} is not documented");
        }

        var create = document.Paths["/api/v1/users"].Operations![HttpMethod.Post];
        var schema = create.RequestBody!.Content!["application/json"].Schema!;
        Assert.Contains("alice", json, StringComparison.Ordinal);
        Assert.NotNull(schema);
    }
}
