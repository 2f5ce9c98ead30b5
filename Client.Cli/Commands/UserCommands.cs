using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SecureXfer.Cli.Remote;
using SecureXfer.Cli.Terminal;
using SecureXfer.Shared.Rest;

namespace SecureXfer.Cli.Commands;

/// <summary><c>sxfer users list|add|set|rm|passwd</c>: user administration through the REST control plane.</summary>
internal static class UserCommands
{
    public static Command Create(GlobalOptions globals)
    {
        var users = new Command("users", "Manage users (admins; auditors may list).");
        users.Subcommands.Add(List(globals));
        users.Subcommands.Add(Add(globals));
        users.Subcommands.Add(Set(globals));
        users.Subcommands.Add(Remove(globals));
        users.Subcommands.Add(Password(globals));
        return users;
    }

    private static Command List(GlobalOptions globals)
    {
        var search = new Option<string?>("--search") { Description = "Only users whose username or display name contains this." };
        var role = new Option<string?>("--role") { Description = "Only users with this role: admin, user or auditor." };
        var page = new Option<int>("--page") { Description = "Page number, from 1.", DefaultValueFactory = _ => 1 };
        var pageSize = new Option<int>("--page-size") { Description = "Users per page (at most 500).", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List users.") { search, role, page, pageSize };
        command.SetBody(globals, async context =>
        {
            using var api = context.OpenSession().OpenApi();
            var query = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"api/v1/users?page={context.ParseResult.GetValue(page)}&pageSize={context.ParseResult.GetValue(pageSize)}"));
            if (context.ParseResult.GetValue(search) is { Length: > 0 } text)
            {
                query.Append("&search=").Append(Uri.EscapeDataString(text));
            }

            if (context.ParseResult.GetValue(role) is { Length: > 0 } wanted)
            {
                query.Append("&role=").Append(Uri.EscapeDataString(wanted));
            }

            var result = await api.SendAsync(HttpMethod.Get, query.ToString(), null, RestJsonContext.Default.PageResponseUserResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(result!, RestJsonContext.Default.PageResponseUserResponse, () =>
            {
                Console.Out.WriteLine($"{"ID",6}  {"USERNAME",-24} {"ROLE",-8} {"QUOTA",10}  {"STATE",-8} NAME");
                foreach (var user in result!.Items)
                {
                    var quota = user.QuotaBytes is { } bytes ? Sizes.Format(bytes) : "-";
                    Console.Out.WriteLine($"{user.Id,6}  {user.Username,-24} {user.Role,-8} {quota,10}  {(user.Disabled ? "disabled" : "enabled"),-8} {user.DisplayName}");
                }

                Console.Out.WriteLine($"{result.Items.Count} of {result.Total} users (page {result.Page})");
            });
        });
        return command;
    }

    private static Command Add(GlobalOptions globals)
    {
        var username = new Argument<string>("USERNAME") { Description = "Login name: letters, digits, '.', '_' and '-'." };
        var role = new Option<string>("--role") { Description = "admin, user or auditor.", DefaultValueFactory = _ => "user" };
        var quota = new Option<string?>("--quota") { Description = "Storage limit, e.g. 10G; none by default." };
        var displayName = new Option<string?>("--display-name") { Description = "A name for people." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the new user's password from the first line of stdin." };
        var command = new Command("add", "Create a user.") { username, role, quota, displayName, passwordStdin };
        command.SetBody(globals, async context =>
        {
            var name = context.ParseResult.GetRequiredValue(username);
            var password = ReadNewPassword(context.ParseResult.GetValue(passwordStdin), $"Password for {name}: ");
            var request = new CreateUserRequest(name, password, context.ParseResult.GetValue(role), ParseQuota(context.ParseResult.GetValue(quota)), context.ParseResult.GetValue(displayName));
            using var api = context.OpenSession().OpenApi();
            var user = await api.SendAsync(HttpMethod.Post, "api/v1/users", JsonContent.Create(request, RestJsonContext.Default.CreateUserRequest), RestJsonContext.Default.UserResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(user!, RestJsonContext.Default.UserResponse, () => Console.Out.WriteLine($"Created {user!.Username} (id {user.Id}, {user.Role})"));
        });
        return command;
    }

    private static Command Set(GlobalOptions globals)
    {
        var who = new Argument<string>("USER") { Description = "Username or numeric id." };
        var role = new Option<string?>("--role") { Description = "New role: admin, user or auditor." };
        var quota = new Option<string?>("--quota") { Description = "New storage limit, e.g. 10G, or 'none' for no limit." };
        var displayName = new Option<string?>("--display-name") { Description = "New display name ('' clears it)." };
        var disable = new Option<bool>("--disable") { Description = "Disable the account: its sessions end and it cannot log in." };
        var enable = new Option<bool>("--enable") { Description = "Enable the account again." };
        var command = new Command("set", "Change a user's role, quota, display name, or enable/disable them.") { who, role, quota, displayName, disable, enable };
        command.SetBody(globals, async context =>
        {
            var parse = context.ParseResult;
            if (parse.GetValue(disable) && parse.GetValue(enable))
            {
                throw CliException.Usage("--disable and --enable contradict each other.");
            }

            var changes = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (parse.GetValue(role) is { } newRole)
            {
                changes["role"] = newRole;
            }

            if (parse.GetValue(quota) is { } newQuota)
            {
                changes["quotaBytes"] = newQuota.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : ParseQuota(newQuota);
            }

            if (parse.GetValue(displayName) is { } newName)
            {
                changes["displayName"] = newName;
            }

            if (parse.GetValue(disable) || parse.GetValue(enable))
            {
                changes["disabled"] = parse.GetValue(disable);
            }

            if (changes.Count == 0)
            {
                throw CliException.Usage("Nothing to change: give --role, --quota, --display-name, --disable or --enable.");
            }

            using var api = context.OpenSession().OpenApi();
            var id = await ResolveAsync(api, parse.GetRequiredValue(who), context.CancellationToken).ConfigureAwait(false);
            using var body = new StringContent(PatchJson(changes), Encoding.UTF8, "application/json");
            var user = await api.SendAsync(HttpMethod.Patch, $"api/v1/users/{id}", body, RestJsonContext.Default.UserResponse, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(user!, RestJsonContext.Default.UserResponse, () => Console.Out.WriteLine($"Updated {user!.Username}"));
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals)
    {
        var who = new Argument<string>("USER") { Description = "Username or numeric id." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask: the user's files are deleted with them." };
        var command = new Command("rm", "Delete a user together with all their files.") { who, yes };
        command.SetBody(globals, async context =>
        {
            var name = context.ParseResult.GetRequiredValue(who);
            if (!context.ParseResult.GetValue(yes))
            {
                if (!Prompts.Interactive)
                {
                    throw CliException.Usage($"Deleting {name} deletes all their files; confirm with --yes.");
                }

                if (!Prompts.Confirm($"Delete {name} and all their files?"))
                {
                    throw new CliException(ExitCodes.Failure, "cancelled", "Nothing was deleted.");
                }
            }

            using var api = context.OpenSession().OpenApi();
            var id = await ResolveAsync(api, name, context.CancellationToken).ConfigureAwait(false);
            await api.SendAsync<UserResponse>(HttpMethod.Delete, $"api/v1/users/{id}", null, null, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new UserOkJson(true, id), UserJson.Default.UserOkJson, () => Console.Out.WriteLine($"Deleted {name} and their files"));
        });
        return command;
    }

    private static Command Password(GlobalOptions globals)
    {
        var who = new Argument<string?>("USER") { Description = "Whose password an admin resets; without it, change your own.", Arity = ArgumentArity.ZeroOrOne };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read from stdin: the new password, or for your own the current one then the new one, one per line." };
        var command = new Command("passwd", "Change your password, or (admins) set another user's.") { who, passwordStdin };
        command.SetBody(globals, async context =>
        {
            var fromStdin = context.ParseResult.GetValue(passwordStdin);
            var session = context.OpenSession();
            using var api = session.OpenApi();
            if (context.ParseResult.GetValue(who) is { } name)
            {
                var password = ReadNewPassword(fromStdin, $"New password for {name}: ");
                var id = await ResolveAsync(api, name, context.CancellationToken).ConfigureAwait(false);
                await api.SendAsync<UserResponse>(HttpMethod.Post, $"api/v1/users/{id}/password",
                    JsonContent.Create(new ResetPasswordRequest(password), RestJsonContext.Default.ResetPasswordRequest), null, context.CancellationToken).ConfigureAwait(false);
                context.Reporter.Result(new UserOkJson(true, id), UserJson.Default.UserOkJson, () => Console.Out.WriteLine($"Password of {name} set; their sessions have ended."));
                return;
            }

            var current = fromStdin ? Prompts.ReadLineFromStdin() ?? throw CliException.Usage("stdin is empty.")
                : Prompts.CanPromptForPassword ? Prompts.ReadSecret("Current password: ")
                : throw CliException.Usage("There is no terminal to ask; pass the passwords on stdin with --password-stdin.");
            var next = ReadNewPassword(fromStdin, "New password: ");
            await api.SendAsync<UserResponse>(HttpMethod.Post, "api/v1/me/password",
                JsonContent.Create(new ChangePasswordRequest(current, next), RestJsonContext.Default.ChangePasswordRequest), null, context.CancellationToken).ConfigureAwait(false);
            context.Reporter.Result(new UserOkJson(true, null), UserJson.Default.UserOkJson,
                () => Console.Out.WriteLine($"Password changed. Every session of {session.State.User} has ended; run 'sxfer login' again."));
        });
        return command;
    }

    /// <summary>A numeric argument is an id; anything else is looked up as an exact username.</summary>
    private static async Task<long> ResolveAsync(ServerApi api, string who, CancellationToken cancellationToken)
    {
        if (long.TryParse(who, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        var page = await api.SendAsync(HttpMethod.Get, $"api/v1/users?pageSize=500&search={Uri.EscapeDataString(who)}", null, RestJsonContext.Default.PageResponseUserResponse, cancellationToken).ConfigureAwait(false);
        return page!.Items.FirstOrDefault(u => u.Username.Equals(who, StringComparison.OrdinalIgnoreCase))?.Id
            ?? throw new CliException(ExitCodes.NotFound, "not_found", $"No user named '{who}'.");
    }

    private static string ReadNewPassword(bool fromStdin, string prompt)
    {
        if (fromStdin)
        {
            return Prompts.ReadLineFromStdin() ?? throw CliException.Usage("--password-stdin was given but stdin is empty.");
        }

        if (!Prompts.CanPromptForPassword)
        {
            throw CliException.Usage("There is no terminal to ask for the password; pass it on stdin with --password-stdin.");
        }

        var first = Prompts.ReadSecret(prompt);
        var again = Prompts.ReadSecret("Again: ");
        return first == again ? first : throw CliException.Usage("The two passwords differ.");
    }

    private static long? ParseQuota(string? text)
    {
        if (text is null)
        {
            return null;
        }

        return Sizes.TryParse(text, out var bytes) ? bytes : throw CliException.Usage($"'{text}' is not a size (try 500M, 10G, or a number of bytes).");
    }

    /// <summary>A PATCH body with exactly the fields given; a null quota is written as JSON null (no limit).</summary>
    private static string PatchJson(Dictionary<string, object?> changes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in changes)
            {
                switch (value)
                {
                    case null:
                        json.WriteNull(name);
                        break;
                    case string text:
                        json.WriteString(name, text);
                        break;
                    case bool flag:
                        json.WriteBoolean(name, flag);
                        break;
                    case long number:
                        json.WriteNumber(name, number);
                        break;
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

internal sealed record UserOkJson(bool Ok, long? Id);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(UserOkJson))]
internal sealed partial class UserJson : System.Text.Json.Serialization.JsonSerializerContext;
