using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using SecureXfer.Tests.Support;

namespace SecureXfer.Tests.Browser;

/// <summary>
/// An admin's path through Swagger UI in a real headless Chromium (Debian's, driven by
/// Playwright): log in through the login endpoint, Authorize with the token, create a user;
/// that user can then log in. A screenshot of the page is kept with the test output.
/// </summary>
public sealed class SwaggerBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task An_admin_logs_in_authorizes_and_creates_a_user_in_Swagger_UI()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (./test.sh does).");
        await using var server = await ServerProcess.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });

        // The server's certificate is self-signed; the browser is told to accept it for this test only.
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync($"https://localhost:{server.HttpsPort}/swagger/index.html");
        await page.Locator("#operations-Auth-Login").WaitForAsync();

        // 1. Log in through POST /api/v1/auth/login.
        var login = await ExecuteAsync(page, "#operations-Auth-Login", JsonSerializer.Serialize(new { username = "admin", password = ServerProcess.AdminPassword }));
        Assert.Equal("200", login.Status);
        var token = JsonDocument.Parse(login.Body).RootElement.GetProperty("accessToken").GetString()!;

        // 2. Authorize with the token.
        await page.Locator("button.authorize").First.ClickAsync();
        var dialog = page.Locator(".auth-container").First;
        await dialog.Locator("input").First.FillAsync(token);
        await dialog.Locator("button.authorize").ClickAsync();
        await page.Locator("button.btn-done").First.ClickAsync();

        // 3. Create a user through POST /api/v1/users.
        var created = await ExecuteAsync(page, "#operations-Users-CreateUser",
            JsonSerializer.Serialize(new { username = "browser-made", password = "made-in-swagger-1", role = "user", quotaBytes = 1_000_000, displayName = "From Swagger" }));
        Assert.Equal("201", created.Status);
        Assert.Equal("browser-made", JsonDocument.Parse(created.Body).RootElement.GetProperty("username").GetString());

        var output = Path.Combine(AppContext.BaseDirectory, "browser-output");
        Directory.CreateDirectory(output);
        var screenshot = Path.Combine(output, "swagger.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);

        // 4. The new user logs in.
        using var response = await server.PostLoginAsync("browser-made", "made-in-swagger-1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Opens an operation, fills its JSON body, executes it, and reads the status and body Swagger UI shows.</summary>
    private static async Task<(string Status, string Body)> ExecuteAsync(IPage page, string operation, string body)
    {
        var block = page.Locator(operation);
        await block.Locator(".opblock-summary").First.ClickAsync();
        await block.Locator("button.try-out__btn").ClickAsync();
        await block.Locator("textarea.body-param__text").FillAsync(body);
        await block.Locator("button.execute").ClickAsync();
        var live = block.Locator(".live-responses-table .response");
        await live.First.WaitForAsync();
        var status = (await live.First.Locator(".response-col_status").InnerTextAsync()).Trim();
        var text = await live.First.Locator(".response-col_description pre").First.InnerTextAsync();
        return (status.Split('\n')[0].Trim(), text);
    }
}
