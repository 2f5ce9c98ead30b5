using System.Net;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Hosting;

public sealed class HostTests
{
    [Fact]
    public async Task First_start_without_a_configured_password_generates_one_shown_once_and_kept_private()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SECUREXFER_ADMIN_PASSWORD"] = string.Empty });
        var file = Path.Combine(server.DataDir, "initial-admin-password");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var password = (await File.ReadAllTextAsync(file)).Trim();
        Assert.True(password.Length >= 20);
        Assert.Contains(password, server.Output, StringComparison.Ordinal);
        Assert.NotNull(await server.LoginAsync("admin", password));

        server.Kill();
        await server.StartAgainAsync(new Dictionary<string, string> { ["SECUREXFER_ADMIN_PASSWORD"] = "ignored-now-admin-exists" });
        Assert.Equal(1, server.Output.Split('\n').Count(l => l.Contains(password, StringComparison.Ordinal)));
        Assert.NotNull(await server.LoginAsync("admin", password));
    }

    [Fact]
    public async Task The_data_directory_and_database_are_private_to_the_server_account_even_if_the_directory_existed()
    {
        await using var server = await ServerProcess.StartAsync();
        server.Kill();
        File.SetUnixFileMode(server.DataDir, (UnixFileMode)0x1ED); // 0755, as a container volume starts
        File.SetUnixFileMode(Path.Combine(server.DataDir, "securexfer.db"), (UnixFileMode)0x1A4); // 0644
        await server.StartAgainAsync();

        foreach (var dir in new[] { "", "files", "staging", "tls" })
        {
            var mode = File.GetUnixFileMode(Path.Combine(server.DataDir, dir));
            Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.OtherExecute | UnixFileMode.OtherWrite));
        }

        foreach (var file in Directory.GetFiles(server.DataDir, "securexfer.db*"))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task A_fresh_database_is_created_private()
    {
        await using var server = await ServerProcess.StartAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(server.DataDir, "securexfer.db")));
    }

    [Fact]
    public async Task Server_info_tells_clients_the_SXP_port()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = server.CreateHttpClient();
        var json = await http.GetStringAsync("/api/v1/server");
        Assert.Contains($"\"sxpPort\":{server.SxpPort}", json, StringComparison.Ordinal);
        using var anonymous = await http.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task SIGTERM_stops_the_server_promptly_even_with_an_idle_SXP_client_connected()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var client = await server.ConnectAsync();
        await client.ListAsync("/", CancellationToken.None);

        var took = await server.TerminateAsync(TimeSpan.FromSeconds(60));
        Assert.True(took < TimeSpan.FromSeconds(10), $"shutdown took {took.TotalSeconds:F1} s");
        Assert.Equal(0, server.ExitCode);
    }

    [Fact]
    public async Task Staged_files_without_a_session_are_removed_at_start_up()
    {
        await using var server = await ServerProcess.StartAsync();
        var orphan = Path.Combine(server.DataDir, "staging", "0123456789abcdef0123456789abcdef.part");
        await File.WriteAllTextAsync(orphan, "left behind by a crash");
        server.Kill();
        await server.StartAgainAsync();
        Assert.False(File.Exists(orphan));
        await using SxpClient client = await server.ConnectAsync();
        Assert.Empty(await client.ListAsync("/", CancellationToken.None));
    }
}
