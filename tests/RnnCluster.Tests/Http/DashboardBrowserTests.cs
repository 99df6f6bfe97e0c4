using System.Diagnostics;
using Microsoft.Playwright;
using RnnCluster.Coordinator;
using RnnCluster.Coordinator.Http;
using RnnCluster.Jobs;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Tests.Cluster;
using Xunit;

namespace RnnCluster.Tests.Http;

/// <summary>
/// The dashboard in Debian's Chromium (/usr/bin/chromium, installed by deploy/install-chromium.sh,
/// which test.sh runs) driven by Playwright: local mode with one worker, a job started through the
/// .NET client (the dashboard finds it by polling), its row, its loss curve growing, and the Stop
/// button stopping it. The screenshot of the live job is kept at
/// bin/Release/net10.0/artifacts/dashboard.png under the test project.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DashboardBrowserTests
{
    public const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard.png");

    [Fact]
    public async Task The_dashboard_shows_a_live_job_and_stops_it()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run deploy/install-chromium.sh (test.sh does)");
        await using var local = LocalMode.Start(1, new ManagedKernels(), name: "dashboard-browser", logLevel: "WARNING");
        await local.WaitForWorkersAsync(Wait);
        await using var api = await HttpApi.StartAsync(new HttpApiOptions { Port = 0, PollEvery = TimeSpan.FromMilliseconds(250) }, local.Client, HttpApi.LocalNode(1));

        var job = DefaultJob.Spec with { Epochs = 1000, Data = DefaultJob.Spec.Data with { Rows = 512 }, ValidationSplit = 0.25 };
        var data = DataLoader.Load(job, "test");
        var id = await local.Client.StartJobAsync(job, data);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Timeout = (float)Wait.TotalMilliseconds,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        page.SetDefaultTimeout((float)Wait.TotalMilliseconds);
        try
        {
            await page.GotoAsync(api.Url + "/");
            var row = page.Locator($"#jobs tr[data-job='{id}']");
            await row.WaitForAsync();
            Assert.Equal("running", await row.Locator("td.job-state").InnerTextAsync());
            Assert.Contains("coordinator", await page.Locator("#nodes").InnerTextAsync());

            // The loss curve gains points as steps complete.
            var chart = page.Locator("#loss-chart");
            int first = await PointsAsync(chart, atLeast: 1);
            int later = await PointsAsync(chart, atLeast: first + 5);
            Assert.True(later > first);
            Assert.Equal(1, await chart.Locator("polyline").CountAsync());
            await PointsAsync(page.Locator("#epoch-chart"), atLeast: 1); // an epoch with its validation loss

            Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });
            Assert.True(new FileInfo(ScreenshotPath).Length > 10_000, "the screenshot has content");

            await row.Locator("button.stop").ClickAsync();
            await page.Locator($"#jobs tr[data-job='{id}'] td.job-state", new PageLocatorOptions { HasTextString = "stopped" }).WaitForAsync();
            Assert.Equal(JobState.Stopped, (await local.Client.GetStatusAsync(id)).State);
            Assert.Equal(0, await page.Locator($"#jobs tr[data-job='{id}'] button.stop").CountAsync());
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.ChangeExtension(ScreenshotPath, ".failed.png"), FullPage = true });
            throw;
        }
        finally
        {
            try { await local.Client.StopJobAsync(id); } catch (RnnCluster.Client.RnnClusterException) { }
        }
    }

    /// <summary>Waits until the chart has at least <paramref name="atLeast"/> points; returns how many it has.</summary>
    private static async Task<int> PointsAsync(ILocator chart, int atLeast)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            int points = int.Parse(await chart.GetAttributeAsync("data-points") ?? "0");
            if (points >= atLeast) return points;
            if (deadline.Elapsed > Wait) Assert.Fail($"the chart has {points} points after {Wait.TotalSeconds} s; expected at least {atLeast}");
            await Task.Delay(200);
        }
    }
}
