using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SecureXfer.Server.Persistence;
using SecureXfer.Server.Storage;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Shared.Rest;
using SecureXfer.Shared.Security;

namespace SecureXfer.Tests.Support;

/// <summary>
/// The real server (the built Api) as a child process on loopback with free ports, its own
/// data directory and real TLS. It can be killed with SIGKILL and started again on the same data.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    public const string AdminPassword = "admin-password-for-tests";

    private readonly TempDir _home = new("sx-server");
    private readonly List<string> _output = [];
    private Process? _process;

    /// <param name="postgres">Keep the records in a database of the shared PostgreSQL test cluster; by default when the suite runs against PostgreSQL.</param>
    /// <param name="postgresConnectionString">An existing database to use instead of a new one.</param>
    public ServerProcess(bool? postgres = null, string? postgresConnectionString = null)
    {
        DataDir = _home.Combine("data");
        UsesPostgres = postgres ?? PostgresCluster.Selected;
        PostgresConnectionString = postgresConnectionString;
    }

    /// <summary>A second instance beside <paramref name="sibling"/>: the same data directory and the same PostgreSQL database, its own ports.</summary>
    public ServerProcess(ServerProcess sibling)
    {
        if (sibling.PostgresConnectionString is null)
        {
            throw new InvalidOperationException("Instances share a data directory only on PostgreSQL; start the first one with postgres: true.");
        }

        DataDir = sibling.DataDir;
        UsesPostgres = true;
        PostgresConnectionString = sibling.PostgresConnectionString;
        CaFile = sibling.CaFile;
    }

    /// <summary>Whether this server keeps its records in PostgreSQL (else in SQLite in its data directory).</summary>
    public bool UsesPostgres { get; }

    /// <summary>The PostgreSQL connection string of this server's own database, once started.</summary>
    public string? PostgresConnectionString { get; private set; }

    public string DataDir { get; }

    public int HttpsPort { get; private set; }

    public int SxpPort { get; private set; }

    public string CertificatePath => Path.Combine(DataDir, "tls", "server.crt");

    public string BaseUrl => $"https://127.0.0.1:{HttpsPort}";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>The CA file clients trust: the generated certificate unless the test configured its own.</summary>
    public string? CaFile { get; set; }

    /// <summary>The last lines the server printed, for failure messages.</summary>
    public string Tail(int lines) => string.Join('\n', Output.Split('\n').TakeLast(lines));

    public ServerTrust Trust => ServerTrust.FromCaFile(CaFile ?? CertificatePath);

    public SxpEndpoint Endpoint => new("127.0.0.1", SxpPort, Trust);

    public static async Task<ServerProcess> StartAsync(IDictionary<string, string>? environment = null, string? caFile = null)
    {
        var server = new ServerProcess { CaFile = caFile };
        await server.StartAgainAsync(environment);
        return server;
    }

    /// <summary>Starts the server on the same data directory (after <see cref="Kill"/>), on new free ports.</summary>
    public async Task StartAgainAsync(IDictionary<string, string>? environment = null)
    {
        if (UsesPostgres && PostgresConnectionString is null)
        {
            PostgresConnectionString = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        }

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _home.Path,
        };
        foreach (var arg in new[] { Repo.ApiDll, "--data-dir", DataDir, "--https-port", "0", "--sxp-port", "0" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["SECUREXFER_ADMIN_PASSWORD"] = AdminPassword;

        // Suites log in far more often than people do; the login limit has a test of its own.
        info.Environment["SecureXfer__LoginsPerMinute"] = "100000";
        info.Environment["SecureXfer__LoginFailuresPerAccount"] = "100000";
        info.Environment["SecureXfer__LoginFailuresPerAddress"] = "100000";
        info.Environment["DOTNET_gcServer"] = "0";
        if (PostgresConnectionString is not null)
        {
            info.Environment["SecureXfer__Database__Provider"] = "postgres";
            info.Environment["SecureXfer__Database__ConnectionString"] = PostgresConnectionString;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var listening = new TaskCompletionSource<(int, int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, listening);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, listening);
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("The server exited during start-up:\n" + Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        (HttpsPort, SxpPort) = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private void OnLine(string? line, TaskCompletionSource<(int, int)> listening)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }

        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            listening.TrySetResult((int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value)));
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, like a crash or power cut of the process.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM, the polite stop; returns once the process has exited.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("Not started.");
        var clock = Stopwatch.StartNew();
        await Tool.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return clock.Elapsed;
    }

    /// <summary>Waits for the server to exit by itself (a crash point, a fatal error).</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("Not started.");
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
    }

    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("Not started.");

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    public HttpClient CreateHttpClient()
    {
        var trust = Trust;
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, chain, errors) => trust.Validate(cert, chain, errors),
        };
        return new HttpClient(handler) { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task<HttpResponseMessage> PostLoginAsync(string username, string password)
    {
        using var http = CreateHttpClient();
        return await http.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(username, password));
    }

    public async Task<string> LoginAsync(string username = "admin", string password = AdminPassword)
    {
        using var response = await PostLoginAsync(username, password);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Login as {username} failed: {(int)response.StatusCode}.\n{Tail(30)}");
        }

        var login = await response.Content.ReadFromJsonAsync<LoginResponse>();
        return login!.AccessToken;
    }

    public async Task<SxpClient> ConnectAsync(string username = "admin", string password = AdminPassword) =>
        new(Endpoint, await LoginAsync(username, password));

    /// <summary>The server's database, as the product addresses it.</summary>
    public Database Database => PostgresConnectionString is null ? Database.Sqlite(new DataDirectory(DataDir)) : Database.Postgres(PostgresConnectionString);

    /// <summary>Adds a user straight into the server's database through the product's own account code.</summary>
    public async Task<long> AddUserAsync(string username, string password, long? quotaBytes = null, string role = "user")
    {
        await using var accounts = new DirectAccounts(DataDir, Database);
        var user = await accounts.Service.CreateUserAsync(username, password, role, quotaBytes, null, CancellationToken.None);
        return user.Id;
    }

    /// <summary>A connection to the server's database (SQLite or PostgreSQL), for checking and arranging rows.</summary>
    public DbConnection OpenDatabase()
    {
        DbConnection connection = PostgresConnectionString is null
            ? new SqliteConnection($"Data Source={Path.Combine(DataDir, "securexfer.db")};Pooling=False")
            : new Npgsql.NpgsqlConnection(PostgresConnectionString);
        connection.Open();
        return connection;
    }

    public long Scalar(string sql)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public string? ScalarText(string sql)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }

    public void Execute(string sql)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The running markers in the data directory: one per server running, or left by one that did not stop cleanly.</summary>
    public string[] RunningMarkers => Directory.Exists(Path.Combine(DataDir, "running")) ? Directory.GetFiles(Path.Combine(DataDir, "running")) : [];

    public string UserRoot(long userId) => Path.Combine(DataDir, "files", userId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public X509Certificate2 Certificate => X509CertificateLoader.LoadCertificateFromFile(CertificatePath);

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        await Task.Yield();
        _home.Dispose();
    }

    [GeneratedRegex(@"listening https=[^ ]+:(\d+) sxp=[^ ]+:(\d+)")]
    private static partial Regex ListeningLine();
}
