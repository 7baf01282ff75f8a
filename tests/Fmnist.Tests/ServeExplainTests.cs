using System.Net;
using System.Net.Http.Headers;
using Fmnist.Data;
using Fmnist.Explanations;
using Fmnist.Imaging;
using Fmnist.Inference;

namespace Fmnist.Tests;

/// <summary>`POST /api/predict?explain=true`: the occlusion map and nearest training images, as `fmnist explain` computes them.</summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed class ServeExplainTests(TrainedModelFixture fixture) : IAsyncLifetime
{
    private ServeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ServeTestServer.StartAsync(fixture.Directory);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Explain_true_adds_the_map_and_the_neighbours()
    {
        var png = ServeTestServer.TestPng(0);
        var response = await _server.Client.PostAsync("/api/predict?explain=true", Png(png));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var prediction = (await ServeTestServer.Json(response)).GetProperty("predictions")[0];
        var e = prediction.GetProperty("explanation");
        Assert.Equal(prediction.GetProperty("top")[0].GetProperty("label").GetInt32(), e.GetProperty("label").GetInt32());
        Assert.Equal(6, e.GetProperty("patch").GetInt32());
        var rows = e.GetProperty("occlusion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        Assert.Equal(28, rows.Count);
        Assert.All(rows, r => Assert.Equal(28, r.Length));

        // The same map and neighbours as the library gives for the image the server saw.
        var image = PhotoPreprocessor.FromBytes(png, "upload");
        using var model = Classifiers.Open(fixture.Directory);
        var expected = Explainer.Explain(model, image, new NeighbourIndex(TestData.Fashion.Train))[0];
        Assert.Equal(expected.Label, e.GetProperty("label").GetInt32());
        for (int p = 0; p < ImageShape.Pixels; p++) Assert.Equal(expected.Occlusion[p], rows[p / 28][p % 28], 1e-3);
        var neighbours = e.GetProperty("neighbours").EnumerateArray().ToList();
        Assert.Equal(ExplainOptions.DefaultNeighbours, neighbours.Count);
        for (int i = 0; i < neighbours.Count; i++)
        {
            var n = neighbours[i];
            Assert.Equal(expected.Neighbours[i].Index, n.GetProperty("index").GetInt32());
            Assert.Equal(expected.Neighbours[i].Distance, n.GetProperty("distance").GetInt32());
            Assert.Equal(ClassNames.All[TestData.Fashion.Train.Labels[expected.Neighbours[i].Index]], n.GetProperty("class").GetString());
            Assert.Equal(TestData.Fashion.Train.Image(expected.Neighbours[i].Index).ToArray(), ServeTestServer.Pixels(n.GetProperty("image").GetString()!));
        }
    }

    [Fact]
    public async Task Without_explain_there_is_no_explanation_and_bad_values_are_refused()
    {
        var plain = await ServeTestServer.Json(await _server.Client.PostAsync("/api/predict", Png(ServeTestServer.TestPng(1))));
        Assert.False(plain.GetProperty("predictions")[0].TryGetProperty("explanation", out _));

        var bad = await _server.Client.PostAsync("/api/predict?explain=maybe", Png(ServeTestServer.TestPng(1)));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("explain must be true or false, got 'maybe'", (await ServeTestServer.Json(bad)).GetProperty("message").GetString());

        using var form = new MultipartFormDataContent();
        for (int i = 0; i < 9; i++) form.Add(Png(ServeTestServer.TestPng(i)), "file", $"{i}.png");
        var many = await _server.Client.PostAsync("/api/predict?explain=true", form);
        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        Assert.Contains("at most 8 images", (await ServeTestServer.Json(many)).GetProperty("message").GetString());

        var openApi = await ServeTestServer.Json(await _server.Client.GetAsync("/openapi/v1.json"));
        var parameters = openApi.GetProperty("paths").GetProperty("/api/predict").GetProperty("post").GetProperty("parameters");
        Assert.Contains(parameters.EnumerateArray(), p => p.GetProperty("name").GetString() == "explain");
    }

    private static ByteArrayContent Png(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }
}
