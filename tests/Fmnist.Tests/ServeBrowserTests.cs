using Fmnist.Data;
using Fmnist.Imaging;
using Fmnist.Inference;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Fmnist.Tests;

/// <summary>A [Fact] that is skipped, saying why, where Debian's chromium and chromium-driver are not installed (fails under CI=true: <see cref="Dependencies"/>).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";
    public const string Driver = "/usr/bin/chromedriver";

    public static string? Missing => File.Exists(Chromium) && File.Exists(Driver) ? null
        : $"headless browser test: {Chromium} or {Driver} missing (apt-get install chromium chromium-driver)";

    public BrowserFactAttribute()
    {
        Skip = Dependencies.SkipReason(Missing, Dependencies.InCi);
    }
}

/// <summary>The page end to end in headless Chromium: upload, random sample, and an error shown on the page.</summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed class ServeBrowserTests(TrainedModelFixture fixture) : IAsyncLifetime
{
    private ServeTestServer _server = null!;
    private ChromeDriver _browser = null!;
    private readonly string _dir = TestData.TempDir();

    public async Task InitializeAsync()
    {
        if (BrowserFactAttribute.Missing is { } missing)
        {
            Dependencies.Require(Dependencies.InCi ? missing : null); // skipped locally; fails under CI=true
            return;
        }
        _server = await ServeTestServer.StartAsync(fixture.Directory);
        var options = new ChromeOptions { BinaryLocation = BrowserFactAttribute.Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900");
        // The driver from the Debian package, so Selenium Manager never tries to download one.
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(BrowserFactAttribute.Driver)!, Path.GetFileName(BrowserFactAttribute.Driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        _browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        _browser.Navigate().GoToUrl(_server.Url + "/");
    }

    public async Task DisposeAsync()
    {
        _browser?.Quit();
        _browser?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    [BrowserFact]
    public void UploadingABlankPhoto_SaysItIsNotRecognized_AndStillShowsTheTop3()
    {
        var file = Path.Combine(_dir, "blank.png");
        using (var bitmap = new SkiaSharp.SKBitmap(300, 200))
        {
            bitmap.Erase(SkiaSharp.SKColors.White);
            using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(file, data.ToArray());
        }

        _browser.FindElement(By.Id("file-input")).SendKeys(file);

        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
        var warning = _browser.FindElement(By.Id("unrecognized"));
        Assert.True(warning.Displayed);
        Assert.Contains("Not recognized as a garment: the photo looks blank", warning.Text);
        Assert.Contains("plain background", warning.Text);
        Assert.Equal(3, _browser.FindElements(By.CssSelector("#top li")).Count);
    }

    [BrowserFact]
    public void UploadingAnAnkleBoot_ShowsAnkleBootOnTop()
    {
        var file = Path.Combine(_dir, "ankle-boot.png");
        File.WriteAllBytes(file, ServeTestServer.TestPng(AnkleBootTheModelGetsRight()));

        _browser.FindElement(By.Id("file-input")).SendKeys(file);

        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
        Assert.Equal("Ankle boot", TopClass());
        Assert.Equal(3, _browser.FindElements(By.CssSelector("#top li")).Count);
        Assert.StartsWith("data:image/png;base64,", _browser.FindElement(By.Id("model-input")).GetAttribute("src"));
        Assert.Contains(" ms", _browser.FindElement(By.Id("timing")).Text);
        Assert.False(_browser.FindElement(By.Id("error")).Displayed);

        // docs/serve-screenshot.png comes from here: FMNIST_SERVE_SCREENSHOT=docs/serve-screenshot.png (a phone-width one beside it).
        var screenshot = Environment.GetEnvironmentVariable("FMNIST_SERVE_SCREENSHOT");
        if (string.IsNullOrEmpty(screenshot)) return;
        AtomicFile.WriteAllBytes(screenshot, _browser.GetScreenshot().AsByteArray);
        _browser.Manage().Window.Size = new System.Drawing.Size(390, 1400);
        AtomicFile.WriteAllBytes(Path.ChangeExtension(screenshot, null) + "-phone.png", _browser.GetScreenshot().AsByteArray);
    }

    [BrowserFact]
    public void DrawingOnTheCanvas_GetsClassified()
    {
        var canvas = _browser.FindElement(By.Id("canvas"));
        // A rough trouser: two long vertical strokes joined at the top.
        new OpenQA.Selenium.Interactions.Actions(_browser)
            .MoveToElement(canvas, -60, -110).ClickAndHold().MoveByOffset(120, 0).MoveByOffset(0, 220).Release()
            .MoveToElement(canvas, -60, -110).ClickAndHold().MoveByOffset(0, 220).Release()
            .Perform();
        _browser.FindElement(By.Id("classify-drawing")).Click();

        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
        Assert.Equal("drawing.png", _browser.FindElement(By.Id("status")).Text);
        Assert.Contains(TopClass(), ClassNames.All);
        Assert.False(_browser.FindElement(By.Id("error")).Displayed);
    }

    [BrowserFact]
    public void RandomSample_ShowsItsTrueClassAndAResult()
    {
        _browser.FindElement(By.Id("random-button")).Click();

        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
        var truth = _browser.FindElement(By.Id("true-label")).Text;
        Assert.StartsWith("True class: ", truth);
        Assert.Contains(truth["True class: ".Length..], ClassNames.All);
        Assert.Contains(TopClass(), ClassNames.All);
        Assert.Equal(3, _browser.FindElements(By.CssSelector("#top li")).Count);
    }

    [BrowserFact]
    public void Why_ShowsTheOcclusionMapAndTheNearestTrainingImages()
    {
        var file = Path.Combine(_dir, "ankle-boot.png");
        File.WriteAllBytes(file, ServeTestServer.TestPng(AnkleBootTheModelGetsRight()));
        _browser.FindElement(By.Id("file-input")).SendKeys(file);
        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
        Assert.False(_browser.FindElement(By.Id("why")).Displayed);

        _browser.FindElement(By.Id("why-button")).Click();
        Until(() => _browser.FindElement(By.Id("why")).Displayed && _browser.FindElement(By.Id("why-caption")).Text.Length > 0, "an explanation");
        Assert.Contains("lowers P(Ankle boot)", _browser.FindElement(By.Id("why-caption")).Text);
        Assert.Equal(8, _browser.FindElements(By.CssSelector("#neighbours li img")).Count);
        // The map is drawn: some pixel of the canvas is clearly red (the colour of "speaks for the class").
        var red = (long)((IJavaScriptExecutor)_browser).ExecuteScript(
            "const d = document.getElementById('why-map').getContext('2d').getImageData(0, 0, 224, 224).data;" +
            "let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 1] + 60 && d[i] > d[i + 2] + 60) n++; return n;")!;
        Assert.True(red > 100, $"{red} red pixels on the map");
        // docs/serve-why-screenshot.png comes from here: FMNIST_WHY_SCREENSHOT=docs/serve-why-screenshot.png.
        if (Environment.GetEnvironmentVariable("FMNIST_WHY_SCREENSHOT") is { Length: > 0 } screenshot)
        {
            _browser.Manage().Window.Size = new System.Drawing.Size(1100, 1300);
            AtomicFile.WriteAllBytes(screenshot, _browser.GetScreenshot().AsByteArray);
        }

        // A random test image is explained too (sent back as the 28x28 PNG the model saw); a new result hides the old why.
        _browser.FindElement(By.Id("random-button")).Click();
        Until(() => !_browser.FindElement(By.Id("why")).Displayed, "the old explanation hidden");
        _browser.FindElement(By.Id("why-button")).Click();
        Until(() => _browser.FindElement(By.Id("why")).Displayed, "an explanation of the test image");
        Assert.False(_browser.FindElement(By.Id("error")).Displayed);
    }

    [BrowserFact]
    public void UploadingATextFile_ShowsTheErrorOnThePage()
    {
        var file = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(file, "not a picture of anything\n");

        _browser.FindElement(By.Id("file-input")).SendKeys(file);

        Until(() => _browser.FindElement(By.Id("error")).Displayed, "an error message");
        Assert.Contains("notes.txt: not a PNG or JPEG image", _browser.FindElement(By.Id("error")).Text);
        Assert.False(_browser.FindElement(By.Id("result")).Displayed);
    }

    [BrowserFact]
    public void KeyboardOnly_RandomSampleWorks()
    {
        // Tab to the button (no mouse) and press Enter.
        var button = _browser.FindElement(By.Id("random-button"));
        var body = _browser.FindElement(By.TagName("body"));
        for (int i = 0; i < 20 && !Equals(_browser.SwitchTo().ActiveElement(), button); i++) body.SendKeys(Keys.Tab);
        Assert.Equal(button, _browser.SwitchTo().ActiveElement());
        _browser.SwitchTo().ActiveElement().SendKeys(Keys.Enter);
        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
    }

    [BrowserFact]
    public async Task WithAnApiKey_ThePageAsksForIt_AndThenWorks()
    {
        const string key = "browser-key-0123456789";
        await using var guarded = await ServeTestServer.StartAsync(fixture.Directory, apiKey: key);
        _browser.Navigate().GoToUrl(guarded.Url + "/");

        Until(() => _browser.FindElement(By.Id("key-form")).Displayed, "API key form");
        Assert.Contains("needs an API key", _browser.FindElement(By.Id("error")).Text);
        _browser.FindElement(By.Id("key-input")).SendKeys("wrong-key-000" + Keys.Enter);
        Until(() => _browser.FindElement(By.Id("key-form")).Displayed && _browser.FindElement(By.Id("error")).Text.Contains("wrong API key"), "refusal of a wrong key");

        _browser.FindElement(By.Id("key-input")).SendKeys(key + Keys.Enter);
        Until(() => _browser.FindElement(By.Id("model-info")).Text.StartsWith("Model ", StringComparison.Ordinal), "model description");
        Assert.False(_browser.FindElement(By.Id("key-form")).Displayed);
        _browser.FindElement(By.Id("random-button")).Click();
        Until(() => _browser.FindElement(By.Id("result")).Displayed, "a result");
        Assert.Contains(TopClass(), ClassNames.All);

        // A link with the key in its fragment (never sent to the server) opens a working page at once, and drops it from the address.
        ((IJavaScriptExecutor)_browser).ExecuteScript("sessionStorage.clear()");
        _browser.Navigate().GoToUrl("about:blank"); // else a fragment-only change would not load the page again
        _browser.Navigate().GoToUrl(guarded.Url + "/#key=" + key);
        Until(() => _browser.FindElement(By.Id("model-info")).Text.StartsWith("Model ", StringComparison.Ordinal), "model description");
        Assert.False(_browser.FindElement(By.Id("key-form")).Displayed);
        Assert.DoesNotContain(key, _browser.Url);
    }

    private string TopClass() => _browser.FindElement(By.CssSelector("#top li:first-child .class")).Text;

    /// <summary>The first test ankle boot the fixture's small model puts on top after the page's own preprocessing.</summary>
    private int AnkleBootTheModelGetsRight()
    {
        using var model = Classifiers.Open(fixture.Directory);
        var test = TestData.Fashion.Test;
        for (int i = 0; i < test.Count; i++)
        {
            if (test.Labels[i] != 9) continue;
            var probs = model.Probabilities(PhotoPreprocessor.FromBytes(ServeTestServer.TestPng(i), "boot"));
            if (Array.IndexOf(probs, probs.Max()) == 9) return i;
        }
        throw new InvalidOperationException("the fixture model classifies no test ankle boot correctly");
    }

    private static void Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (condition()) return;
            }
            catch (StaleElementReferenceException)
            {
                // the page replaced the element; ask again
            }
            Thread.Sleep(100);
        }
        Assert.Fail($"the page showed no {what} within 30 s");
    }
}
