using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SecureXfer.Server.Configuration;
using SecureXfer.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace SecureXfer.Tests.Hosting;

/// <summary>
/// No container engine runs here, so docker-compose.yml and the Dockerfile are checked by reading
/// them against what the server really reads: every variable is a setting with a valid value, the
/// published ports are the ones it listens on, its data and certificates live in volumes, the
/// health check is the server's own, and the demo peers are wired to it.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly YamlMappingNode Compose = LoadCompose();
    private static readonly string Dockerfile = File.ReadAllText(Path.Combine(Repo.Root, "Api", "Dockerfile"));

    private static YamlMappingNode Services => Map(Compose, "services");

    private static YamlMappingNode Server => Map(Services, "securexfer");

    private static Dictionary<string, string> ServerEnvironment =>
        Map(Server, "environment").Children.ToDictionary(p => Scalar(p.Key), p => Scalar(p.Value), StringComparer.Ordinal);

    [Fact]
    public void The_server_service_sets_only_settings_the_server_reads_with_values_it_accepts()
    {
        var environment = ServerEnvironment;
        foreach (var name in environment.Keys.Where(n => n != "SECUREXFER_ADMIN_PASSWORD"))
        {
            Assert.True(SettingsCatalog.All.Any(s => s.EnvironmentVariable == name), $"{name} is not a setting the server reads");
        }

        Assert.Equal("${SECUREXFER_ADMIN_PASSWORD:-}", environment["SECUREXFER_ADMIN_PASSWORD"]);

        // The same validation the server runs at start-up (the certificate files live in the container).
        var settings = environment
            .Where(p => p.Key.StartsWith("SecureXfer__", StringComparison.Ordinal) && !p.Key.StartsWith("SecureXfer__Tls__", StringComparison.Ordinal))
            .ToDictionary(p => p.Key.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = SettingsValidator.ValidateForTools(configuration, []);
        Assert.Equal("0.0.0.0", options.Bind);
        Assert.Equal("json", options.LogFormat);
    }

    [Fact]
    public void The_published_ports_are_the_ones_the_server_listens_on()
    {
        var options = Options(ServerEnvironment);
        var published = Sequence(Server, "ports").Select(Scalar).Select(p => p.Split(':')).ToList();
        Assert.All(published, p => Assert.Equal("127.0.0.1", p[0]));
        Assert.Equal(
            new[] { options.HttpsPort, options.SxpPort }.Order(),
            published.Select(p => int.Parse(p[^1], System.Globalization.CultureInfo.InvariantCulture)).Order());
        var exposed = ExposeLine().Match(Dockerfile).Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse);
        Assert.Equal(new[] { options.HttpsPort, options.SxpPort }.Order(), exposed.Order());
    }

    [Fact]
    public void Data_and_certificates_live_in_declared_volumes_the_image_agrees_with()
    {
        var environment = ServerEnvironment;
        var mounts = Sequence(Server, "volumes").Select(Scalar).Select(v => v.Split(':')).ToList();
        var declared = Map(Compose, "volumes").Children.Keys.Select(Scalar).ToHashSet(StringComparer.Ordinal);

        var data = Assert.Single(mounts, m => m[1] == environment["SecureXfer__DataDir"]);
        Assert.Contains(data[0], declared);
        Assert.Contains($"SecureXfer__DataDir={environment["SecureXfer__DataDir"]}", Dockerfile, StringComparison.Ordinal);
        Assert.Contains($"VOLUME {environment["SecureXfer__DataDir"]}", Dockerfile, StringComparison.Ordinal);

        foreach (var file in new[] { environment["SecureXfer__Tls__CertificatePath"], environment["SecureXfer__Tls__KeyPath"] })
        {
            var mount = Assert.Single(mounts, m => file.StartsWith(m[1] + "/", StringComparison.Ordinal));
            Assert.Contains(mount[0], declared);
            Assert.Equal("ro", mount[^1]);
        }

        // The certs service writes those files into the same volume with the repository's script.
        var certs = Map(Services, "certs");
        Assert.Contains(Sequence(certs, "volumes").Select(Scalar), v => v == "./certs:/src:ro");
        Assert.Contains(Sequence(certs, "volumes").Select(Scalar), v => v.StartsWith(mounts.First(m => m[1] == "/certs")[0] + ":/certs", StringComparison.Ordinal));
        var script = string.Join(' ', Sequence(certs, "command").Select(Scalar));
        Assert.Contains("/src/make-dev-certs.sh -o /ca securexfer", script, StringComparison.Ordinal);
        Assert.Contains("cp /ca/server.crt /ca/server.key /ca/client-trust.pem /certs/", script, StringComparison.Ordinal);

        // The CA's key stays in its own volume: no service but certs mounts it.
        var caVolume = Assert.Single(Sequence(certs, "volumes").Select(Scalar), v => v.EndsWith(":/ca", StringComparison.Ordinal)).Split(':')[0];
        foreach (var service in Services.Children.Where(p => Scalar(p.Key) != "certs").Select(p => (YamlMappingNode)p.Value))
        {
            var volumes = service.Children.ContainsKey(new YamlScalarNode("volumes")) ? Sequence(service, "volumes").Select(Scalar) : [];
            Assert.DoesNotContain(volumes, v => v.StartsWith(caVolume + ":", StringComparison.Ordinal));
        }

        Assert.True(File.Exists(Path.Combine(Repo.Root, "certs", "make-dev-certs.sh")));
        Assert.Equal("service_completed_successfully", Scalar(Map(Map(Server, "depends_on"), "certs")["condition"]));
    }

    [Fact]
    public void The_image_is_multi_stage_non_root_with_libssh_and_the_servers_own_health_check()
    {
        Assert.Matches(@"FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build", Dockerfile);
        Assert.Matches(@"FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0\n", Dockerfile);
        Assert.Contains("libssh-4", Dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"\nUSER \$APP_UID\n", Dockerfile);
        Assert.Matches(@"HEALTHCHECK .*\n\s+CMD \[""dotnet"", ""/app/SecureXfer\.Api\.dll"", ""healthcheck""\]", Dockerfile);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/SecureXfer.Api.dll\"]", Dockerfile, StringComparison.Ordinal);
        var assembly = Regex.Match(File.ReadAllText(Path.Combine(Repo.Root, "Api", "Api.csproj")), "<AssemblyName>(.*)</AssemblyName>").Groups[1].Value;
        Assert.Equal("SecureXfer.Api", assembly);

        var health = Sequence(Map(Server, "healthcheck"), "test").Select(Scalar).ToArray();
        Assert.Equal(["CMD", "dotnet", "/app/SecureXfer.Api.dll", "healthcheck"], health);
        Assert.Equal("Api/Dockerfile", Scalar(Map(Server, "build")["dockerfile"]));

        // A stop gives transfers their shutdown timeout before the engine's SIGKILL.
        var grace = Scalar(Server["stop_grace_period"]);
        Assert.True(TimeSpan.FromSeconds(int.Parse(grace.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture)) > Options(ServerEnvironment).ShutdownTimeout);
    }

    [Fact]
    public void The_demo_peers_are_on_a_network_the_server_may_reach()
    {
        var options = Options(ServerEnvironment);
        var subnet = IPNetwork.Parse(Scalar(Sequence(Map(Map(Map(Compose, "networks"), "demo"), "ipam"), "config").Cast<YamlMappingNode>().Single()["subnet"]));
        var allowed = SecureXfer.Server.Remotes.NetworkGuard.Parse(options.RemoteAllowedNetworks);
        Assert.Contains(allowed, n => n.Contains(subnet.BaseAddress) && n.PrefixLength <= subnet.PrefixLength);

        foreach (var peer in new[] { "sftp", "ftps" })
        {
            var service = Map(Services, peer);
            Assert.False(string.IsNullOrEmpty(Scalar(service["image"])));
            Assert.Contains("demo", Sequence(service, "networks").Select(Scalar));
        }

        Assert.Contains("demo", Sequence(Server, "networks").Select(Scalar));
        var ftps = Map(Map(Services, "ftps"), "environment");
        Assert.Equal(ServerEnvironment["SecureXfer__Tls__CertificatePath"], Scalar(ftps["TLS_CERT"]));
        Assert.Equal(ServerEnvironment["SecureXfer__Tls__KeyPath"], Scalar(ftps["TLS_KEY"]));
        Assert.StartsWith("demo:", string.Join(' ', Sequence(Map(Services, "sftp"), "command").Select(Scalar)), StringComparison.Ordinal);
    }

    private static SecureXferOptions Options(Dictionary<string, string> environment)
    {
        var settings = environment.Where(p => p.Key.StartsWith("SecureXfer__", StringComparison.Ordinal))
            .ToDictionary(p => p.Key.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value);
        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(SecureXferOptions.Section).Get<SecureXferOptions>()!;
    }

    private static YamlMappingNode LoadCompose()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Repo.Root, "docker-compose.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? (YamlMappingNode)child : throw new Xunit.Sdk.XunitException($"no '{key}' in the compose file");

    private static IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? ((YamlSequenceNode)child).Children : throw new Xunit.Sdk.XunitException($"no '{key}' in the compose file");

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value ?? string.Empty;

    [GeneratedRegex(@"^EXPOSE (.+)$", RegexOptions.Multiline)]
    private static partial Regex ExposeLine();
}
