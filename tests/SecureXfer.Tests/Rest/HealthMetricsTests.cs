using System.Globalization;
using System.Net;
using SecureXfer.Shared.Protocol.Client;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Rest;

public sealed class HealthMetricsTests
{
    [Fact]
    public async Task Health_is_ok_when_ready_and_503_naming_the_check_when_the_disk_is_short()
    {
        await using (var server = await ServerProcess.StartAsync())
        {
            using var http = server.CreateHttpClient();
            Assert.Equal("ok", await http.GetStringAsync("/health"));
            Assert.Equal("ok", await http.GetStringAsync("/health/live"));
        }

        await using var starved = await ServerProcess.StartAsync(new Dictionary<string, string> { ["SecureXfer__MinFreeDiskBytes"] = long.MaxValue.ToString(CultureInfo.InvariantCulture) });
        using var client = starved.CreateHttpClient();
        using var response = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"disk\":{\"status\":\"unhealthy\"", body, StringComparison.Ordinal);
        Assert.Contains("\"database\":{\"status\":\"healthy\"", body, StringComparison.Ordinal);
        Assert.Equal("ok", await client.GetStringAsync("/health/live"));
    }

    [Fact]
    public async Task Metrics_count_logins_transfers_bytes_and_requests_in_Prometheus_text()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = server.CreateHttpClient();
        using (var failed = await server.PostLoginAsync("admin", "not-the-password"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        using var local = new TempDir("sx-metrics");
        var file = local.Combine("m.bin");
        TestFiles.WriteRandom(file, 300_000);
        await using (var client = await server.ConnectAsync())
        {
            await client.UploadAsync(file, "/m.bin", new TransferOptions(), null, CancellationToken.None);
            await client.DownloadAsync("/m.bin", local.Combine("back.bin"), new TransferOptions(), null, CancellationToken.None);
        }

        using var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Contains("# TYPE securexfer_logins_total counter", text, StringComparison.Ordinal);
        Assert.Contains("securexfer_logins_total{result=\"failed\"} 1\n", text, StringComparison.Ordinal);
        Assert.Matches("securexfer_logins_total\\{result=\"ok\"\\} [1-9]", text);
        Assert.Contains("securexfer_transfers_total{direction=\"upload\",result=\"ok\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("securexfer_transfers_total{direction=\"download\",result=\"ok\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("securexfer_transfer_bytes_total{direction=\"upload\"} 300000\n", text, StringComparison.Ordinal);
        Assert.Contains("securexfer_transfer_bytes_total{direction=\"download\"} 300000\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE securexfer_sxp_sessions gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", text, StringComparison.Ordinal);
        Assert.DoesNotContain(ServerProcess.AdminPassword, text, StringComparison.Ordinal);
    }
}
