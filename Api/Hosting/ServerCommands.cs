using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Security;
using SecureXfer.Server.Storage;

namespace SecureXfer.Api.Hosting;

/// <summary>
/// The server's command line besides running: <c>--help</c>, <c>backup</c>, <c>restore</c> and
/// <c>healthcheck</c>. Exit codes: 0 done, 1 failed, 2 bad usage or configuration.
/// </summary>
internal static class ServerCommands
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    /// <summary>Runs a command named by the first argument; null when the arguments are for the server itself.</summary>
    public static async Task<int?> TryRunAsync(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "--help" or "-h" or "help":
                Console.Out.Write(Help());
                return Ok;
            case "backup":
                return await RunToolAsync(args[1..], "--to", async (data, dir, _) =>
                {
                    var manifest = await Backups.TakeAsync(data, dir, CancellationToken.None);
                    Console.Out.WriteLine($"backup of {data.Root} written to {Path.GetFullPath(dir)}: schema {manifest.Schema}, {manifest.Files} files, {manifest.Bytes} bytes");
                });
            case "restore":
                return await RunToolAsync(args[1..], "--from", async (data, dir, force) =>
                {
                    var (manifest, aside) = await Backups.RestoreAsync(dir, data, force, CancellationToken.None);
                    Console.Out.WriteLine($"restored {Path.GetFullPath(dir)} (taken {manifest.CreatedUtc:u}) into {data.Root}: schema {manifest.Schema}, {manifest.Files} files, {manifest.Bytes} bytes, every file checked against its SHA-256");
                    if (aside is not null)
                    {
                        Console.Out.WriteLine($"what was there before is in {aside}; delete it when the restored server works");
                    }
                });
            case "healthcheck":
                return await HealthCheckAsync(args[1..]);
            default:
                return null;
        }
    }

    /// <summary>
    /// The settings as the server sees them: appsettings.json and appsettings.ENVIRONMENT.json beside
    /// the binary, the environment, then switches.
    /// </summary>
    public static IConfiguration Configuration(IReadOnlyList<string> switches)
    {
        var environment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? "Production";
        return new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. switches], SettingsCatalog.Switches.ToDictionary())
            .Build();
    }

    public static string Help()
    {
        var text = new StringBuilder();
        text.AppendLine("SecureXfer server: REST control plane with Swagger UI, and SXP transfers, over TLS.");
        text.AppendLine();
        text.AppendLine("Usage:");
        text.AppendLine("  SecureXfer.Api [SWITCHES]                          run the server (dotnet run --project Api -- [SWITCHES])");
        text.AppendLine("  SecureXfer.Api backup --to DIR [SWITCHES]          copy the data directory into DIR (new or empty), online");
        text.AppendLine("  SecureXfer.Api restore --from DIR [--force] [SWITCHES]");
        text.AppendLine("                                                     check the backup in DIR and restore it into the data directory");
        text.AppendLine("                                                     (server stopped; --force replaces existing data, kept aside)");
        text.AppendLine("  SecureXfer.Api healthcheck [SWITCHES]              exit 0 if the server of this configuration answers /health");
        text.AppendLine("  SecureXfer.Api --help                              this text");
        text.AppendLine();
        text.AppendLine("Settings come from appsettings.json beside the binary, then environment variables, then switches;");
        text.AppendLine("later ones win. Any setting can be given as --SecureXfer:Name=VALUE. A bad value stops the start");
        text.AppendLine("with every problem listed (exit code 2).");
        text.AppendLine();
        foreach (var setting in SettingsCatalog.All)
        {
            var ways = setting.Switch is null ? setting.EnvironmentVariable : $"{setting.Switch}, {setting.EnvironmentVariable}";
            var value = setting.Default.Length == 0 ? "empty" : setting.Default;
            text.AppendLine(CultureInfo.InvariantCulture, $"  {setting.Key}  ({ways})  default: {value}");
            text.AppendLine(CultureInfo.InvariantCulture, $"      {setting.Meaning.Replace("`", string.Empty, StringComparison.Ordinal)}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  {Server.Accounts.AccountService.AdminPasswordVariable} (environment only)  default: generated");
        text.AppendLine("      password of admin, used only when the database has no users");
        text.AppendLine("  Logging:LogLevel:Default (Logging__LogLevel__Default)  default: Information");
        text.AppendLine("      log level; Logging:LogLevel:CATEGORY sets one category");
        text.AppendLine();
        text.AppendLine("Exit codes: 0 stopped cleanly, 1 failed, 2 bad usage or configuration.");
        return text.ToString();
    }

    /// <summary>Backup and restore: one directory switch, an optional --force, the rest are settings.</summary>
    private static async Task<int> RunToolAsync(string[] args, string directorySwitch, Func<DataDirectory, string, bool, Task> run)
    {
        string? directory = null;
        var force = false;
        var settings = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == directorySwitch && i + 1 < args.Length)
            {
                directory = args[++i];
            }
            else if (args[i] == "--force" && directorySwitch == "--from")
            {
                force = true;
            }
            else
            {
                settings.Add(args[i]);
            }
        }

        if (directory is null)
        {
            Console.Error.WriteLine($"{directorySwitch} DIR is required; see --help.");
            return Usage;
        }

        try
        {
            var options = SettingsValidator.ValidateForTools(Configuration(settings), settings);
            if (!string.Equals(options.Database.Provider, DatabaseOptions.Sqlite, StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine("backup and restore handle SQLite deployments. With PostgreSQL, back up the database with pg_dump, and files/, keys/, tls/ and jwt-signing.key of the data directory with the server stopped or paused.");
                return Failed;
            }

            await run(new DataDirectory(options.DataDir), directory, force);
            return Ok;
        }
        catch (ConfigurationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return Usage;
        }
        catch (Exception ex) when (ex is BackupException or IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"{(directorySwitch == "--to" ? "backup" : "restore")} failed: {ex.Message}");
            return Failed;
        }
    }

    /// <summary>
    /// Asks this configuration's server for /health over HTTPS, trusting exactly the certificate the
    /// server serves (its configured or generated one), for container health checks without curl.
    /// </summary>
    private static async Task<int> HealthCheckAsync(string[] args)
    {
        SecureXferOptions options;
        try
        {
            options = SettingsValidator.ValidateForTools(Configuration(args), args);
        }
        catch (ConfigurationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return Usage;
        }

        var certificatePath = options.Tls.CertificatePath ?? ServerCertificate.CertificatePath(new DataDirectory(options.DataDir));
        try
        {
            using var expected = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
            var address = SettingsValidator.ParseBind(options.Bind);
            if (address.Equals(IPAddress.Any))
            {
                address = IPAddress.Loopback;
            }
            else if (address.Equals(IPAddress.IPv6Any))
            {
                address = IPAddress.IPv6Loopback;
            }

            using var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.GetCertHash().AsSpan().SequenceEqual(expected.GetCertHash());
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
            var host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
            using var response = await http.GetAsync($"https://{host}:{options.HttpsPort}/health");
            var body = await response.Content.ReadAsStringAsync();
            Console.Out.WriteLine($"{(int)response.StatusCode} {body}");
            return response.IsSuccessStatusCode ? Ok : Failed;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or System.Security.Cryptography.CryptographicException)
        {
            Console.Error.WriteLine($"unhealthy: {ex.Message}");
            return Failed;
        }
    }
}
