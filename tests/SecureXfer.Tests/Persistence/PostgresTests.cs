using System.Data.Common;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using SecureXfer.Server.Persistence;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Rest;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Persistence;

/// <summary>
/// The PostgreSQL provider against a real private cluster (the suite's REST, account and transfer
/// tests also run whole against it from ./test.sh): the same schema as SQLite, step for step;
/// migrations safe when instances start together; and a server that keeps its records there.
/// </summary>
public sealed class PostgresTests : IDisposable
{
    private readonly TempDir _work = new("sx-pg");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Both_providers_build_the_same_tables_and_columns_at_every_version()
    {
        Assert.All(SchemaMigrator.Migrations, m => Assert.False(string.IsNullOrWhiteSpace(m.PostgresSql), $"step {m.Version} has no PostgreSQL form"));
        var cluster = await PostgresCluster.SharedAsync();
        var postgres = Database.Postgres(await cluster.CreateDatabaseAsync());
        var sqlitePath = _work.Combine("schema.db");
        var sqlite = $"Data Source={sqlitePath};Pooling=False";

        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(postgres));
        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(sqlite));
        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.CurrentVersion(postgres));

        var expected = SqliteColumns(sqlite);
        var actual = await PostgresColumnsAsync(postgres);
        Assert.Equal(string.Join('\n', expected), string.Join('\n', actual));

        // Every mapped property has the PostgreSQL type its .NET type needs (a long in an INTEGER would overflow).
        var builder = new DbContextOptionsBuilder<SecureXferDbContext>();
        postgres.Configure(builder);
        await using var context = new SecureXferDbContext(builder.Options);
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        var types = Read(connection, "SELECT table_name || '.' || column_name || '=' || data_type FROM information_schema.columns WHERE table_schema = 'public'")
            .Select(t => t.Split('=')).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        foreach (var entity in context.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                var column = $"{entity.GetTableName()}.{property.GetColumnName()}";
                var clr = Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType;
                var wanted = clr == typeof(long) ? "bigint" : clr == typeof(int) ? "integer" : clr == typeof(bool) ? "boolean" : "text";
                Assert.True(types.TryGetValue(column, out var type), $"no column {column}");
                Assert.True(type == wanted, $"{column} is {type}, {clr.Name} needs {wanted}");
            }
        }
    }

    [Fact]
    public async Task Instances_starting_together_migrate_a_new_database_once()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var database = Database.Postgres(await cluster.CreateDatabaseAsync());
        var versions = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => SchemaMigrator.Migrate(database))));
        Assert.All(versions, v => Assert.Equal(SchemaMigrator.LatestVersion, v));
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM schema_version";
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task An_older_postgres_schema_is_dumped_with_pg_dump_then_upgraded_keeping_its_accounts()
    {
        // A database left at schema 3 by an older server, with one account.
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            var hash = new SecureXfer.Server.Accounts.PasswordHasher(4).Hash("older-schema-password");
            command.CommandText = string.Join(";\n", SchemaMigrator.Migrations.Take(3).Select(m => m.PostgresSql))
                + ";\nCREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);"
                + $"\nINSERT INTO users (username, password_hash, role, security_stamp, created_at, updated_at) VALUES ('Olda', '{hash}', 'admin', 'stamp', 1, 1);";
            await command.ExecuteNonQueryAsync();
        }

        // Two instances start on it at once: one upgrades, after one dump.
        await using var first = new ServerProcess(postgres: true, postgresConnectionString: connectionString);
        await using var second = new ServerProcess(postgres: true, postgresConnectionString: connectionString);
        await Task.WhenAll(first.StartAgainAsync(), second.StartAgainAsync());
        var upgraded = new[] { first, second }.Where(s => s.Output.Contains("Upgrading the database from schema 3", StringComparison.Ordinal)).ToList();
        var dumps = new[] { first, second }.SelectMany(s => Directory.Exists(Path.Combine(s.DataDir, "backups")) ? Directory.GetFiles(Path.Combine(s.DataDir, "backups")) : []).ToList();
        Assert.Single(upgraded);
        var dump = Assert.Single(dumps);
        Assert.EndsWith(".sql", dump, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dump));
        var text = await File.ReadAllTextAsync(dump);
        Assert.Contains("CREATE TABLE public.users", text, StringComparison.Ordinal);
        Assert.Contains("Olda", text, StringComparison.Ordinal);
        Assert.DoesNotContain("audit_log", text, StringComparison.Ordinal);

        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.CurrentVersion(Database.Postgres(connectionString)));
        Assert.NotNull(await first.LoginAsync("olda", "older-schema-password"));
        Assert.NotNull(await second.LoginAsync("OLDA", "older-schema-password"));
    }

    [Fact]
    public async Task A_server_on_postgres_keeps_accounts_and_files_there_with_the_same_rules()
    {
        await using var server = new ServerProcess(postgres: true);
        await server.StartAgainAsync();
        Assert.False(File.Exists(Path.Combine(server.DataDir, "securexfer.db")));
        var password = new NpgsqlConnectionStringBuilder(server.PostgresConnectionString).Password!;
        Assert.DoesNotContain(password, server.Output, StringComparison.Ordinal);

        // Usernames stay unique whatever their case, and log in whatever their case.
        var bob = await server.AddUserAsync("Bob", "bob-password-on-postgres");
        using var admin = new RestClient(server, await server.LoginAsync());
        using var clash = await admin.PostAsync("/api/v1/users", new { username = "bOB", password = "another-password-1", role = "user" });
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.NotNull(await server.LoginAsync("BOB", "bob-password-on-postgres"));
        var found = await RestClient.ExpectAsync(await admin.GetAsync("/api/v1/users?search=bo"), HttpStatusCode.OK);
        Assert.Contains(found.GetProperty("items").EnumerateArray(), u => u.GetProperty("id").GetInt64() == bob);

        // Files: upload, record, download; quota sums come from PostgreSQL.
        var local = _work.Combine("f.bin");
        var sha = TestFiles.WriteRandom(local, 5L << 20);
        await using (var client = await server.ConnectAsync("bob", "bob-password-on-postgres"))
        {
            await client.UploadAsync(local, "/docs/f.bin", new TransferOptions { ChunkSize = 1 << 20 }, null, CancellationToken.None);
            var copy = _work.Combine("copy.bin");
            Assert.Equal(sha, (await client.DownloadAsync("/docs/f.bin", copy, new TransferOptions(), null, CancellationToken.None)).Sha256);
        }

        Assert.Equal(sha, server.ScalarText($"SELECT sha256 FROM files WHERE owner_id = {bob} AND path = '/docs/f.bin'"));
        var verify = await RestClient.ExpectAsync(await admin.PostAsync("/api/v1/audit/verify", null), HttpStatusCode.OK);
        Assert.True(verify.GetProperty("ok").GetBoolean());

        // The audit log refuses changes there too.
        Assert.ThrowsAny<Exception>(() => server.Execute("UPDATE audit_log SET target = 'x'"));
        Assert.ThrowsAny<Exception>(() => server.Execute("TRUNCATE audit_log"));
    }

    [Fact]
    public async Task A_postgres_setting_that_cannot_work_stops_the_start_without_showing_the_password()
    {
        var (code, _, stderr) = await StartAsync(new() { ["SecureXfer__Database__Provider"] = "postgres" });
        Assert.Equal(2, code);
        Assert.Contains("SecureXfer:Database:ConnectionString is required", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await StartAsync(new() { ["SecureXfer__Database__Provider"] = "mysql" });
        Assert.Equal(2, code);
        Assert.Contains("'mysql' is not one of sqlite, postgres", stderr, StringComparison.Ordinal);

        // Nobody listens there: the start stops with the host and database, never the password.
        var cluster = await PostgresCluster.SharedAsync();
        (code, _, stderr) = await StartAsync(new()
        {
            ["SecureXfer__Database__Provider"] = "postgres",
            ["SecureXfer__Database__ConnectionString"] = $"Host=127.0.0.1;Port=1;Database=nowhere;Username=postgres;Password={cluster.Password}",
        });
        Assert.Equal(2, code);
        Assert.Contains("SecureXfer:Database:ConnectionString: cannot use the PostgreSQL database 'nowhere' on 127.0.0.1:1", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(cluster.Password, stderr, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Stdout, string Stderr)> StartAsync(Dictionary<string, string> environment)
    {
        environment["SECUREXFER_ADMIN_PASSWORD"] = ServerProcess.AdminPassword;
        return await Tool.RunAsync("dotnet", [Repo.ApiDll, "--data-dir", _work.Combine("data"), "--https-port", "0", "--sxp-port", "0"], timeout: TimeSpan.FromSeconds(60), environment: environment);
    }

    private static List<string> SqliteColumns(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        var tables = Read(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
        // Each column with the kind of value it holds: whole numbers (booleans included) or text.
        return [.. tables.SelectMany(t => Read(connection, $"SELECT name || ':' || CASE WHEN upper(type) = 'TEXT' THEN 'text' ELSE 'number' END FROM pragma_table_info('{t}')").Select(c => $"{t}.{c}")).Order(StringComparer.Ordinal)];
    }

    private static async Task<List<string>> PostgresColumnsAsync(Database database)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        var columns = Read(connection, "SELECT table_name || '.' || column_name || ':' || CASE WHEN data_type = 'text' THEN 'text' ELSE 'number' END FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_version'");
        return [.. columns.Order(StringComparer.Ordinal)];
    }

    private static List<string> Read(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
