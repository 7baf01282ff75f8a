using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Experiments;
using Fmnist.Imaging;
using Fmnist.Inference;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>`fmnist serve`'s JSON API over real HTTP: good requests, every refused one, and batching under concurrency.</summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed class ServeTests(TrainedModelFixture fixture) : IAsyncLifetime
{
    private ServeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ServeTestServer.StartAsync(fixture.Directory);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpClient Client => _server.Client;

    [Fact]
    public async Task Health_Model_Page_And_OpenApi_Answer()
    {
        var health = await ServeTestServer.Json(await Client.GetAsync("/health"));
        Assert.Equal("ok", health.GetProperty("status").GetString());

        var model = await ServeTestServer.Json(await Client.GetAsync("/api/model"));
        Assert.Equal(ClassNames.All, model.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(fixture.Directory, model.GetProperty("source").GetString());
        Assert.Equal("torchsharp", model.GetProperty("runtime").GetString());
        Assert.True(model.GetProperty("parameters").GetInt64() > 1000);
        Assert.Equal(fixture.Result.TestAccuracy, model.GetProperty("test_accuracy").GetDouble(), 9);
        Assert.Equal(32, model.GetProperty("config").GetProperty("model").GetProperty("lstm").GetInt32());
        Assert.Equal(32, model.GetProperty("batching").GetProperty("max_images").GetInt32());

        var page = await Client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("id=\"random-button\"", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "")); // no CDN: everything comes from this server
        Assert.Contains("/api/predict", await Client.GetStringAsync("/app.js"));
        Assert.Contains("pixelated", await Client.GetStringAsync("/app.css"));

        var openApi = await ServeTestServer.Json(await Client.GetAsync("/openapi/v1.json"));
        var paths = openApi.GetProperty("paths");
        foreach (var path in new[] { "/api/predict", "/api/model", "/api/samples/random", "/health" })
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI document lacks {path}");
        var content = paths.GetProperty("/api/predict").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        foreach (var type in new[] { "image/png", "image/jpeg", "multipart/form-data" })
            Assert.True(content.TryGetProperty(type, out _), $"OpenAPI /api/predict lacks {type}");
    }

    [Fact]
    public async Task Predict_RawPng_MatchesThePredictCommand()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "boot.png");
        var png = ServeTestServer.TestPng(0);
        File.WriteAllBytes(file, png);

        var response = await Client.PostAsync("/api/predict", Bytes(png, "image/png"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ServeTestServer.Json(response);
        var prediction = Assert.Single(body.GetProperty("predictions").EnumerateArray());
        var expected = Assert.Single(EvaluationWorkflow.Predict([fixture.Directory], [file], TestData.Fashion.Train).Predictions);
        var top = prediction.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(3, top.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected.Top[i].Class, top[i].GetProperty("class").GetString());
            Assert.Equal(expected.Top[i].Probability, top[i].GetProperty("probability").GetDouble(), 1e-4);
        }
        // The image shown is the image the model saw: the same preprocessing as `predict`.
        Assert.Equal(PhotoPreprocessor.Load(file), ServeTestServer.Pixels(prediction.GetProperty("image").GetString()!));
        Assert.True(body.GetProperty("total_ms").GetDouble() > 0);
        Assert.True(body.GetProperty("batch_images").GetInt32() >= 1);
    }

    [Fact]
    public async Task Predict_SaysWhetherEachImageIsRecognized_WithAReason()
    {
        using var blank = new SkiaSharp.SKBitmap(200, 200);
        blank.Erase(SkiaSharp.SKColors.White);
        using var encoded = blank.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        using var form = new MultipartFormDataContent();
        form.Add(Bytes(encoded.ToArray(), "image/png"), "file", "blank.png");
        form.Add(Bytes(ServeTestServer.TestPng(0), "image/png"), "file", "garment.png");

        var response = await Client.PostAsync("/api/predict", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = (await ServeTestServer.Json(response)).GetProperty("predictions").EnumerateArray().ToList();
        Assert.False(predictions[0].GetProperty("recognized").GetBoolean());
        Assert.Equal(Trust.Recognition.Reasons.Blank, predictions[0].GetProperty("reason").GetString());
        Assert.Equal(3, predictions[0].GetProperty("top").GetArrayLength());
        Assert.Equal(JsonValueKind.True, predictions[1].GetProperty("recognized").ValueKind);
        Assert.Equal(JsonValueKind.Null, predictions[1].GetProperty("reason").ValueKind);
        var metrics = await Client.GetStringAsync("/metrics");
        Assert.Matches(@"fmnist_predictions_not_recognized_total [1-9]", metrics);
    }

    [Fact]
    public async Task Predict_Multipart_AnswersEveryFileInOrder()
    {
        var indices = ServeTestServer.PerClass(1);
        using var form = new MultipartFormDataContent();
        foreach (var i in indices) form.Add(Bytes(ServeTestServer.TestPng(i), "image/png"), "file", $"test-{i}.png");
        form.Add(new StringContent("ignored"), "note");

        var response = await Client.PostAsync("/api/predict", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = (await ServeTestServer.Json(response)).GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(indices.Select(i => $"test-{i}.png"), predictions.Select(p => p.GetProperty("name").GetString()));
        using var model = Classifiers.Open(fixture.Directory);
        for (int k = 0; k < indices.Count; k++)
        {
            var pixels = PhotoPreprocessor.FromBytes(ServeTestServer.TestPng(indices[k]), "x");
            var probs = model.Probabilities(pixels);
            int best = Array.IndexOf(probs, probs.Max());
            Assert.Equal(best, predictions[k].GetProperty("top")[0].GetProperty("label").GetInt32());
        }
    }

    [Fact]
    public async Task Predict_RawJpeg_IsAccepted()
    {
        var response = await Client.PostAsync("/api/predict", Bytes(ServeTestServer.TestJpeg(3), "image/jpeg"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var top = (await ServeTestServer.Json(response)).GetProperty("predictions")[0].GetProperty("top");
        Assert.Equal(3, top.GetArrayLength());
        Assert.True(top[0].GetProperty("probability").GetDouble() >= top[1].GetProperty("probability").GetDouble());
    }

    [Fact]
    public async Task RandomSample_GivesTheTrueClassAndTheModelsPrediction()
    {
        var body = await ServeTestServer.Json(await Client.GetAsync("/api/samples/random"));
        int index = body.GetProperty("index").GetInt32();
        int label = body.GetProperty("label").GetInt32();
        var test = TestData.Fashion.Test;
        Assert.Equal(test.Labels[index], label);
        Assert.Equal(ClassNames.All[label], body.GetProperty("true_class").GetString());
        var image = test.Image(index).ToArray();
        Assert.Equal(image, ServeTestServer.Pixels(body.GetProperty("prediction").GetProperty("image").GetString()!));
        using var model = Classifiers.Open(fixture.Directory);
        var probs = model.Probabilities(image);
        Assert.Equal(Array.IndexOf(probs, probs.Max()), body.GetProperty("prediction").GetProperty("top")[0].GetProperty("label").GetInt32());
    }

    public static TheoryData<string, int, string> BadBodies => new()
    {
        { "text-as-png", 400, "not a PNG or JPEG image" },
        { "truncated-png", 400, "truncated or corrupt" },
        { "50-megapixels", 400, "above the 40 MP limit" },
        { "empty", 400, "empty" },
        { "text/plain", 415, "text/plain is not supported" },
        { "no-content-type", 415, "no Content-Type" },
        { "image/gif", 415, "image/gif is not supported" },
        { "65-files", 400, "too many files" },
        { "multipart-without-file", 400, "no `file` field" },
        { "multipart-with-text-file", 400, "notes.txt: not a PNG or JPEG image" },
        { "multipart-header-20-KB", 400, "malformed multipart body" },
        { "11-MB", 413, "above the 10 MB limit" },
        { "11-MB-chunked", 413, "above the 10 MB limit" },
        { "11-MB-multipart", 413, "above the 10 MB limit" },
        { "11-MB-field-chunked", 413, "above the 10 MB limit" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task BadRequests_GetAJsonErrorAndTheServerGoesOn(string what, int status, string message)
    {
        // HttpClient waits only 1 s for "100 Continue" by default and then sends the body anyway; on a busy machine
        // the server's early 413 can come later, and the body then meets a closed connection. Wait as long as it takes.
        using var patient = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) })
            { BaseAddress = Client.BaseAddress };
        foreach (var h in Client.DefaultRequestHeaders) patient.DefaultRequestHeaders.TryAddWithoutValidation(h.Key, h.Value);
        var response = await (what.StartsWith("11-MB", StringComparison.Ordinal) ? patient : Client).SendAsync(BadRequest(what));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{what}: HTTP {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("error").GetString()));
        Assert.Contains(message, body.GetProperty("message").GetString());
        Assert.DoesNotContain("Exception", text); // no stack trace, no exception dump
        Assert.DoesNotContain(".cs:line", text);
        Assert.DoesNotContain("\\n", text);

        var after = await Client.PostAsync("/api/predict", Bytes(ServeTestServer.TestPng(1), "image/png"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task AClientStillSendingAnOversizedBody_ReadsThe413()
    {
        // The API refuses at 10 MB while the rest of a chunked body is still coming; the server must read and drop
        // that rest (Kestrel's drain, under its higher ceiling) rather than reset the connection under the client,
        // which then sees "broken pipe" instead of the answer. One try in fifty failed that way before.
        for (int i = 0; i < 30; i++)
        {
            var response = await Client.SendAsync(BadRequest("11-MB-chunked"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("payload_too_large", (await ServeTestServer.Json(response)).GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task UnknownRoutesAndMethods_GetJsonErrors()
    {
        var missing = await Client.GetAsync("/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(404, (await ServeTestServer.Json(missing)).GetProperty("status").GetInt32());
        var method = await Client.GetAsync("/api/predict");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.StatusCode);
        Assert.Equal("method_not_allowed", (await ServeTestServer.Json(method)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task NothingARequestSendsIsWrittenToDisk()
    {
        // A multipart upload of several MB is where ASP.NET's form reader would buffer to a temp file.
        var temp = Path.GetTempPath();
        var before = Directory.EnumerateFiles(temp, "ASPNETCORE_*", SearchOption.TopDirectoryOnly).Count();
        using var form = new MultipartFormDataContent();
        var big = new byte[3 * 1024 * 1024];
        ServeTestServer.TestPng(5).CopyTo(big, 0); // a valid PNG followed by trailing bytes decoders ignore
        form.Add(Bytes(big, "image/png"), "file", "big.png");
        var response = await Client.PostAsync("/api/predict", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before, Directory.EnumerateFiles(temp, "ASPNETCORE_*", SearchOption.TopDirectoryOnly).Count());
    }

    [Theory]
    [InlineData(32, 20)]
    [InlineData(1, 0)]
    public async Task ConcurrentRequests_EachGetTheirOwnImagesPrediction(int batch, double waitMs)
    {
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, batch, waitMs);
        var indices = ServeTestServer.PerClass(8);
        var pngs = indices.Select(ServeTestServer.TestPng).ToList();
        using var model = Classifiers.Open(fixture.Directory);
        var single = pngs.Select(p => model.Probabilities(PhotoPreprocessor.FromBytes(p, "x"))).ToList();
        // Different images must get visibly different answers, or mixed-up responses would go unnoticed.
        Assert.True(single.Select(p => Array.IndexOf(p, p.Max())).Distinct().Count() >= 6);

        using var start = new ManualResetEventSlim();
        var tasks = pngs.Select(p => Task.Run(async () =>
        {
            start.Wait();
            return await server.Client.PostAsync("/api/predict", Bytes(p, "image/png"));
        })).ToList();
        start.Set();
        var responses = await Task.WhenAll(tasks);

        var batches = new List<int>();
        for (int k = 0; k < responses.Length; k++)
        {
            Assert.Equal(HttpStatusCode.OK, responses[k].StatusCode);
            var body = await ServeTestServer.Json(responses[k]);
            batches.Add(body.GetProperty("batch_images").GetInt32());
            foreach (var t in body.GetProperty("predictions")[0].GetProperty("top").EnumerateArray())
                Assert.Equal(single[k][t.GetProperty("label").GetInt32()], t.GetProperty("probability").GetDouble(), 1e-4);
            Assert.Equal(Array.IndexOf(single[k], single[k].Max()), body.GetProperty("predictions")[0].GetProperty("top")[0].GetProperty("label").GetInt32());
        }
        if (batch == 1) Assert.All(batches, b => Assert.Equal(1, b));
        else
        {
            Assert.True(batches.Max() > 1, "no two requests shared a forward pass");
            Assert.True(batches.Max() <= batch, $"a pass held {batches.Max()} images, above --batch {batch}");
        }
    }

    [Fact]
    public void NewestFinishedRun_IsFound_IncompleteOnesIgnored()
    {
        var runs = TestData.TempDir();
        Assert.Null(RunDiscovery.Newest(Path.Combine(runs, "missing")));
        Assert.Null(RunDiscovery.Newest(runs));
        void Run(string name, bool complete, DateTime written)
        {
            var dir = Path.Combine(runs, name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "model.pt"), "");
            if (!complete) return;
            var result = Path.Combine(dir, "result.json");
            File.WriteAllText(result, "{}");
            File.SetLastWriteTimeUtc(result, written);
        }
        Run("old", true, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Run(Path.Combine("sweep", "newer"), true, new DateTime(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc));
        Run("unfinished", false, default);
        Assert.Equal(Path.GetFullPath(Path.Combine(runs, "sweep", "newer")), Path.GetFullPath(RunDiscovery.Newest(runs)!));
    }

    [Fact]
    public void ServeCommand_WithAMissingModel_IsAOneLineError()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.CliApp.Run(["serve", "--model", "/nonexistent/run", "--urls", "http://127.0.0.1:0"], stdout, stderr);
        Assert.Equal(1, code);
        Assert.Contains("/nonexistent/run", stderr.ToString());
        Assert.Single(stderr.ToString().Trim().Split('\n'));
    }

    private static ByteArrayContent Bytes(byte[] bytes, string? type)
    {
        var content = new ByteArrayContent(bytes);
        if (type is not null) content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static HttpRequestMessage BadRequest(string what)
    {
        var png = ServeTestServer.TestPng(2);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/predict");
        var eleven = new byte[11 * 1024 * 1024];
        png.CopyTo(eleven, 0);
        switch (what)
        {
            case "text-as-png": request.Content = Bytes("hello, not an image"u8.ToArray(), "image/png"); break;
            case "truncated-png": request.Content = Bytes(png[..(png.Length * 2 / 3)], "image/png"); break;
            case "50-megapixels": request.Content = Bytes(PhotoPreprocessorTests.PngHeaderOnly(10_000, 5_000), "image/png"); break;
            case "empty": request.Content = Bytes([], "image/png"); break;
            case "text/plain": request.Content = new StringContent("hello", Encoding.UTF8, "text/plain"); break;
            case "no-content-type": request.Content = Bytes(png, null); break;
            case "image/gif": request.Content = Bytes(png, "image/gif"); break;
            case "65-files":
                {
                    var form = new MultipartFormDataContent();
                    for (int i = 0; i < 65; i++) form.Add(Bytes(png, "image/png"), "file", $"{i}.png");
                    request.Content = form;
                    break;
                }
            case "multipart-without-file":
                {
                    var form = new MultipartFormDataContent { { new StringContent("x"), "note" } };
                    request.Content = form;
                    break;
                }
            case "multipart-with-text-file":
                {
                    var form = new MultipartFormDataContent { { Bytes("just some notes\n"u8.ToArray(), "text/plain"), "file", "notes.txt" } };
                    request.Content = form;
                    break;
                }
            case "multipart-header-20-KB":
                {
                    // A section header past MultipartReader's 16 KB limit is a malformed body, not a large one.
                    var file = Bytes(png, "image/png");
                    file.Headers.Add("X-Padding", new string('a', 20 * 1024));
                    request.Content = new MultipartFormDataContent { { file, "file", "padded.png" } };
                    break;
                }
            case "11-MB":
                request.Content = Bytes(eleven, "image/png");
                request.Headers.ExpectContinue = true; // as curl does for large bodies: refused before it is sent
                break;
            case "11-MB-chunked":
                request.Content = new StreamContent(new MemoryStream(eleven)); // no length: the limit trips while reading
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
                request.Headers.TransferEncodingChunked = true;
                break;
            case "11-MB-field-chunked":
                {
                    // A skipped text field counts against the limit as much as a file does.
                    var form = new MultipartFormDataContent { { Bytes(png, "image/png"), "file", "small.png" }, { new ByteArrayContent(eleven), "notes" } };
                    request.Content = new StreamContent(form.ReadAsStream());
                    request.Content.Headers.ContentType = form.Headers.ContentType;
                    request.Headers.TransferEncodingChunked = true;
                    break;
                }
            case "11-MB-multipart":
                {
                    var form = new MultipartFormDataContent { { Bytes(eleven, "image/png"), "file", "big.png" } };
                    request.Content = form;
                    request.Headers.ExpectContinue = true;
                    break;
                }
            default: throw new ArgumentException(what);
        }
        return request;
    }
}
