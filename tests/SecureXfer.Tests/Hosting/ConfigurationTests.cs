using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using SecureXfer.Server.Configuration;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Hosting;

/// <summary>
/// The server's settings: every one documented in --help and in the README's table, and a bad
/// value refused before anything starts, with a message that names the setting (exit code 2).
/// </summary>
public sealed partial class ConfigurationTests : IDisposable
{
    private readonly TempDir _home = new("sx-config");

    public void Dispose() => _home.Dispose();

    private string DataDir => _home.Combine("data");

    [Fact]
    public async Task Help_lists_every_setting_with_its_environment_variable_and_default()
    {
        var (code, stdout, _) = await Tool.RunAsync("dotnet", [Repo.ApiDll, "--help"]);
        Assert.Equal(0, code);
        foreach (var setting in SettingsCatalog.All)
        {
            Assert.Contains(setting.Key, stdout, StringComparison.Ordinal);
            Assert.Contains(setting.EnvironmentVariable, stdout, StringComparison.Ordinal);
            Assert.Contains("default: " + (setting.Default.Length == 0 ? "empty" : setting.Default), stdout, StringComparison.Ordinal);
        }

        foreach (var command in new[] { "backup --to DIR", "restore --from DIR", "healthcheck" })
        {
            Assert.Contains(command, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_README_table_documents_every_setting_exactly()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var rows = TableRow().Matches(readme).ToDictionary(m => m.Groups["key"].Value, m => m, StringComparer.Ordinal);
        foreach (var setting in SettingsCatalog.All)
        {
            Assert.True(rows.TryGetValue(setting.Key, out var row), $"README has no row for {setting.Key}");
            Assert.Equal(setting.Switch ?? string.Empty, row.Groups["switch"].Value.Trim('`', ' '));
            Assert.Equal(setting.EnvironmentVariable, row.Groups["env"].Value.Trim('`', ' '));
            Assert.Equal(setting.Default.Length == 0 ? "empty" : setting.Default, row.Groups["default"].Value.Trim('`', ' '));
        }

        var unknown = rows.Keys.Where(k => SettingsCatalog.Find(k) is null).ToList();
        Assert.True(unknown.Count == 0, "README documents settings the server does not read: " + string.Join(", ", unknown));
    }

    [Theory]
    [InlineData("SecureXfer__HttpsPort", "abc", "SecureXfer:HttpsPort")]
    [InlineData("SecureXfer__SxpPort", "70000", "SecureXfer:SxpPort")]
    [InlineData("SecureXfer__Bind", "not-an-address", "SecureXfer:Bind")]
    [InlineData("SecureXfer__LogFormat", "xml", "SecureXfer:LogFormat")]
    [InlineData("SecureXfer__TokenLifetime", "-00:05:00", "SecureXfer:TokenLifetime")]
    [InlineData("SecureXfer__DirectIo", "yes", "SecureXfer:DirectIo")]
    [InlineData("SecureXfer__SxpIdleTimeout", "60", "SecureXfer:SxpIdleTimeout")]
    [InlineData("SecureXfer__AbandonedUploadSweep", "30.00:00:00", "SecureXfer:AbandonedUploadSweep")]
    [InlineData("SecureXfer__BcryptCost", "99", "SecureXfer:BcryptCost")]
    [InlineData("SecureXfer__RemoteAllowedNetworks", "10.0.0.0/99", "SecureXfer:RemoteAllowedNetworks")]
    [InlineData("SecureXfer__CrashAt", "everywhere", "SecureXfer:CrashAt")]
    [InlineData("SecureXfer__Tls__CertificatePath", "/nonexistent/server.crt", "SecureXfer:Tls:CertificatePath")]
    [InlineData("SecureXfer__Tls__KeyPath", "/etc/hostname", "SecureXfer:Tls:KeyPath")]
    [InlineData("SecureXfer__HttpPort", "8443", "did you mean 'SecureXfer:HttpsPort'")]
    [InlineData("SecureXfer__CertificatePath", "/x.crt", "did you mean 'SecureXfer:Tls:CertificatePath'")]
    public async Task A_bad_value_stops_the_start_naming_the_setting_and_creates_nothing(string variable, string value, string named)
    {
        var (code, stdout, stderr) = await StartAsync([], new Dictionary<string, string> { [variable] = value });
        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains(named, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(DataDir), "a refused configuration created the data directory");
    }

    [Fact]
    public async Task Every_problem_is_listed_at_once_and_unknown_switches_are_refused()
    {
        var (code, _, stderr) = await StartAsync(
            ["--https-port", "x", "--sxp-port", "-1", "--htps-port", "1", "--bind", "nowhere"],
            new Dictionary<string, string> { ["SecureXfer__UploadWindow"] = "0", ["SecureXfer__LogFormat"] = "xml" });
        Assert.Equal(2, code);
        Assert.Contains("SecureXfer:Bind (--bind): 'nowhere' is not an IP address", stderr, StringComparison.Ordinal);
        Assert.Contains("SecureXfer:LogFormat", stderr, StringComparison.Ordinal);
        Assert.Contains("SecureXfer:HttpsPort", stderr, StringComparison.Ordinal);
        Assert.Contains("SecureXfer:SxpPort", stderr, StringComparison.Ordinal);
        Assert.Contains("SecureXfer:UploadWindow", stderr, StringComparison.Ordinal);
        Assert.Contains("unknown switch '--htps-port'; did you mean '--https-port'?", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_file_that_is_not_a_certificate_is_refused()
    {
        var bogus = _home.Combine("bogus.pem");
        await File.WriteAllTextAsync(bogus, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        var (code, _, stderr) = await StartAsync(["--cert", bogus], []);
        Assert.Equal(2, code);
        Assert.Contains("SecureXfer:Tls", stderr, StringComparison.Ordinal);
        Assert.Contains(bogus, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_port_for_both_listeners_is_refused()
    {
        var (code, _, stderr) = await StartAsync(["--https-port", "9443", "--sxp-port", "9443"], []);
        Assert.Equal(2, code);
        Assert.Contains("both 9443", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_another_process_holds_is_refused_with_a_clear_message()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, stdout, stderr) = await StartAsync(["--https-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], []);
        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains($"SecureXfer:HttpsPort: port {port} on 127.0.0.1 is already in use", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(DataDir), "a refused configuration created the data directory");
    }

    [Fact]
    public async Task A_second_server_on_the_same_data_directory_is_refused_before_it_touches_anything()
    {
        await using var first = await ServerProcess.StartAsync();
        var marker = Assert.Single(first.RunningMarkers);
        var (code, stdout, stderr) = await StartAsync(["--data-dir", first.DataDir], []);
        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("is in use by another server or a restore", stderr, StringComparison.Ordinal);
        Assert.Equal(marker, Assert.Single(first.RunningMarkers));
        Assert.NotNull(await first.LoginAsync());
    }

    [Fact]
    public async Task A_data_directory_on_a_read_only_file_system_is_refused()
    {
        var mount = _home.Combine("ro");
        Directory.CreateDirectory(mount);
        var (mounted, _, mountError) = await Tool.RunAsync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", mount]);
        Assert.True(mounted == 0, mountError);
        try
        {
            var (code, _, stderr) = await StartAsync(["--data-dir", Path.Combine(mount, "data")], []);
            Assert.Equal(2, code);
            Assert.Contains("SecureXfer:DataDir: cannot write", stderr, StringComparison.Ordinal);
        }
        finally
        {
            await Tool.RunAsync("umount", [mount]);
        }
    }

    [Fact]
    public async Task A_data_directory_that_is_a_file_is_refused()
    {
        var file = _home.Combine("plain-file");
        await File.WriteAllTextAsync(file, "x");
        var (code, _, stderr) = await StartAsync(["--data-dir", file], []);
        Assert.Equal(2, code);
        Assert.Contains("SecureXfer:DataDir: cannot write", stderr, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Stdout, string Stderr)> StartAsync(string[] args, Dictionary<string, string> environment)
    {
        environment["SECUREXFER_ADMIN_PASSWORD"] = ServerProcess.AdminPassword;
        string[] defaults = args.Contains("--data-dir") ? [] : ["--data-dir", DataDir];
        string[] ports = args.Contains("--https-port") || environment.ContainsKey("SecureXfer__HttpsPort") ? [] : ["--https-port", "0"];
        string[] sxp = args.Contains("--sxp-port") || environment.ContainsKey("SecureXfer__SxpPort") ? [] : ["--sxp-port", "0"];
        return await Tool.RunAsync("dotnet", [Repo.ApiDll, .. defaults, .. ports, .. sxp, .. args], timeout: TimeSpan.FromSeconds(60), environment: environment);
    }

    [GeneratedRegex(@"^\| `(?<key>SecureXfer:[A-Za-z:]+)` \| (?<switch>[^|]*)\| (?<env>[^|]*)\| (?<default>[^|]*)\|", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
