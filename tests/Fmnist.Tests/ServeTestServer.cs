using System.Text.Json;
using Fmnist.Data;
using Fmnist.Inference;
using Fmnist.Serve;
using SkiaSharp;

namespace Fmnist.Tests;

/// <summary>`fmnist serve` in-process on a free loopback port, with the fixture's model and the real test and training sets.</summary>
public sealed class ServeTestServer : IAsyncDisposable
{
    private readonly IClassifier _model;
    private readonly ServeHost _host;

    private ServeTestServer(IClassifier model, ServeHost host, string url)
    {
        _model = model;
        _host = host;
        Url = url;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Url { get; }
    public HttpClient Client { get; }

    public static async Task<ServeTestServer> StartAsync(string modelDir, int batch = 32, double waitMs = 2, ServeLimits? limits = null, string? apiKey = null)
    {
        var model = Classifiers.Open(modelDir);
        var host = new ServeHost(model, new ServeOptions("http://127.0.0.1:0", batch, waitMs, TestData.Fashion.Test, limits, apiKey, TestData.Fashion.Train,
            Classifiers.Trust(modelDir)));
        await host.StartAsync();
        return new ServeTestServer(model, host, host.Addresses.Single());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _host.DisposeAsync();
        _model.Dispose();
    }

    /// <summary>Test image <paramref name="index"/> as a PNG file's bytes, the way a user would upload it.</summary>
    public static byte[] TestPng(int index) => GrayPng.Encode(TestData.Fashion.Test.Image(index).ToArray());

    public static byte[] TestJpeg(int index)
    {
        var info = new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque);
        using var image = SKImage.FromPixelCopy(info, TestData.Fashion.Test.Image(index).ToArray());
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 95);
        return data.ToArray();
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    /// <summary>The pixels of a PNG data URL from a response, decoded back to 28x28 gray.</summary>
    public static byte[] Pixels(string dataUrl)
    {
        const string prefix = "data:image/png;base64,";
        Assert.StartsWith(prefix, dataUrl);
        using var bitmap = SKBitmap.Decode(Convert.FromBase64String(dataUrl[prefix.Length..]));
        Assert.Equal(28, bitmap.Width);
        Assert.Equal(28, bitmap.Height);
        var pixels = new byte[28 * 28];
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                pixels[y * 28 + x] = bitmap.GetPixel(x, y).Red;
        return pixels;
    }

    /// <summary>Indices of test images, <paramref name="perClass"/> of each class, in class order.</summary>
    public static List<int> PerClass(int perClass)
    {
        var labels = TestData.Fashion.Test.Labels;
        return Enumerable.Range(0, ClassNames.Count)
            .SelectMany(c => Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).Take(perClass)).ToList();
    }
}
