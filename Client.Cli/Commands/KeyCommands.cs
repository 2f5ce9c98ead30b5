using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Cli.Commands;

/// <summary><c>sxfer keys list|add|revoke</c>: your API keys, for automation (REST bearer and SXP token).</summary>
internal static class KeyCommands
{
    public static Command Create(GlobalOptions globals)
    {
        var keys = new Command("keys", "Manage your API keys.");
        keys.Subcommands.Add(List(globals));
        keys.Subcommands.Add(Add(globals));
        keys.Subcommands.Add(Revoke(globals));
        return keys;
    }

    private static Command List(GlobalOptions globals)
    {
        var command = new Command("list", "List your API keys (never their secrets).");
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var result = await api.SendAsync(HttpMethod.Get, "api/v1/keys", null, RestJsonContext.Default.KeyListResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(result!, RestJsonContext.Default.KeyListResponse, () =>
            {
                Console.Out.WriteLine($"{"ID",-24}  {"NAME",-24} {"CREATED",-20} {"EXPIRES",-20} STATE");
                foreach (var key in result!.Items)
                {
                    var expired = key.ExpiresAt is { } e && e <= DateTimeOffset.UtcNow;
                    Console.Out.WriteLine($"{key.Id,-24}  {key.Name,-24} {Time(key.CreatedAt),-20} {(key.ExpiresAt is { } x ? Time(x) : "never"),-20} {(key.Revoked ? "revoked" : expired ? "expired" : "live")}");
                }
            });
        });
        return command;
    }

    private static Command Add(GlobalOptions globals)
    {
        var name = new Argument<string>("NAME") { Description = "What the key is for, e.g. 'nightly backup'." };
        var days = new Option<int?>("--expires-in-days") { Description = "Days until the key stops working; never by default." };
        var command = new Command("add", "Create an API key; its secret is printed this once.") { name, days };
        command.SetBody(globals, async context =>
        {
            var expires = context.ParseResult.GetValue(days) is { } count
                ? count > 0 ? DateTimeOffset.UtcNow.AddDays(count) : throw CliException.Usage("--expires-in-days is at least 1.")
                : (DateTimeOffset?)null;
            using var api = context.OpenSession().OpenApi();
            var request = new CreateKeyRequest(context.ParseResult.GetRequiredValue(name), expires);
            var created = await api.SendAsync(HttpMethod.Post, "api/v1/keys", JsonContent.Create(request, RestJsonContext.Default.CreateKeyRequest), RestJsonContext.Default.CreatedKeyResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(created!, RestJsonContext.Default.CreatedKeyResponse, () =>
            {
                Console.Out.WriteLine(created!.Key);
                Console.Error.WriteLine($"API key {created.Id} ({created.Name}). This is the only time it is shown: store it now.");
            });
        });
        return command;
    }

    private static Command Revoke(GlobalOptions globals)
    {
        var id = new Argument<string>("ID") { Description = "The key's id, as listed." };
        var command = new Command("revoke", "Revoke an API key; it stops working at once.") { id };
        command.SetBody(globals, async context =>
        {
            var keyId = context.ParseResult.GetRequiredValue(id);
            using var api = context.OpenSession().OpenApi();
            await api.SendAsync<KeyResponse>(HttpMethod.Delete, $"api/v1/keys/{Uri.EscapeDataString(keyId)}", null, null, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new KeyOkJson(true, keyId), KeyJson.Default.KeyOkJson, () => Console.Out.WriteLine($"Revoked {keyId}"));
        });
        return command;
    }

    private static string Time(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + "Z";
}

internal sealed record KeyOkJson(bool Ok, string Id);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(KeyOkJson))]
internal sealed partial class KeyJson : System.Text.Json.Serialization.JsonSerializerContext;
