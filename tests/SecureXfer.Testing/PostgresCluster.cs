using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace SecureXfer.Tests.Support;

/// <summary>
/// A private PostgreSQL cluster for the tests: <c>initdb</c> into a temporary directory and
/// <c>pg_ctl start</c> on a free loopback port, both run as the <c>postgres</c> user, with
/// password (SCRAM) authentication. One per test process, stopped when the process exits; each
/// server under test gets a database of its own.
/// </summary>
public sealed class PostgresCluster
{
    public const string Superuser = "postgres";

    private static readonly Lazy<Task<PostgresCluster>> SharedCluster = new(StartAsync);
    private static int _databases;

    private readonly string _bin;
    private readonly string _root;

    private PostgresCluster(string bin, string root, int port, string password)
    {
        _bin = bin;
        _root = root;
        Port = port;
        Password = password;
    }

    /// <summary>True when the suite runs against PostgreSQL (<c>SECUREXFER_TEST_DATABASE=postgres</c>).</summary>
    public static bool Selected =>
        string.Equals(Environment.GetEnvironmentVariable("SECUREXFER_TEST_DATABASE"), "postgres", StringComparison.OrdinalIgnoreCase);

    public int Port { get; }

    public string Password { get; }

    public static Task<PostgresCluster> SharedAsync() => SharedCluster.Value;

    /// <summary>The superuser's connection string for <paramref name="database"/>.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = database,
        Username = Superuser,
        Password = Password,
        Pooling = false,
    }.ToString();

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"sx_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = connection.CreateCommand();
        create.CommandText = $"CREATE DATABASE {name}";
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    private static async Task<PostgresCluster> StartAsync()
    {
        var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        var bin = versions.Select(v => Path.Combine(v, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order().LastOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL is not installed (./test.sh installs Debian's postgresql).");
        var root = Path.Combine(Path.GetTempPath(), $"sx-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(root);
        await RunAsync("chown", Superuser, root);
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(root, "pw");
        await File.WriteAllTextAsync(passwordFile, password + "\n");
        await RunAsync("chown", Superuser, passwordFile);

        await AsPostgresAsync(Path.Combine(bin, "initdb"), "-D", Path.Combine(root, "data"), "-U", Superuser, "--auth=scram-sha-256", "--pwfile", passwordFile, "-E", "UTF8", "--locale=C.UTF-8");
        File.Delete(passwordFile);

        // A free port can be taken between finding it and binding it: try a few.
        var port = 0;
        for (var attempt = 1; ; attempt++)
        {
            port = FreePort();
            var options = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400";
            try
            {
                await AsPostgresAsync(Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(root, "data"), "-o", options, "-l", Path.Combine(root, "log"), "-w", "start");
                break;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }

        var cluster = new PostgresCluster(bin, root, port, password);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        return cluster;
    }

    private void Stop()
    {
        using var stop = System.Diagnostics.Process.Start("runuser", ["-u", Superuser, "--", Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_root, "data"), "-m", "immediate", "stop"]);
        stop?.WaitForExit(30_000);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task AsPostgresAsync(string program, params string[] args) => RunAsync("runuser", ["-u", Superuser, "--", program, .. args]);

    private static async Task RunAsync(string program, params string[] args)
    {
        var (code, stdout, stderr) = await Tool.RunAsync(program, args, timeout: TimeSpan.FromMinutes(2));
        if (code != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({code}):\n{stdout}\n{stderr}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
