using Fmnist.Data;
using Fmnist.Explanations;
using Microsoft.AspNetCore.Http;

namespace Fmnist.Serve;

/// <summary>`POST /api/predict?explain=true`: occlusion maps and nearest training images in the API's shapes.
/// Grad-CAM is left out here: it would run the network outside the batcher's one thread.</summary>
internal sealed class ExplainApi(LabeledImages? train)
{
    public const string Query = "explain";

    /// <summary>Each explained image costs 145 forward passes, run as one job on the batcher's only thread.</summary>
    public const int MaxImages = 8;

    private readonly NeighbourIndex? _neighbours = train is { Count: > 0 } ? new NeighbourIndex(train) : null;
    private readonly ExplainOptions _options = new();

    public OcclusionSettings Settings => _options.Settings;

    /// <summary>Whether the request asks for explanations: explain=true/false (or 1/0); anything else is a 400.</summary>
    public static bool Requested(HttpRequest request)
    {
        if (!request.Query.TryGetValue(Query, out var values)) return false;
        return values.ToString().ToLowerInvariant() switch
        {
            "true" or "1" or "" => true,
            "false" or "0" => false,
            var other => throw ApiException.BadRequest($"{Query} must be true or false, got '{other}'"),
        };
    }

    /// <summary>What the model runs: the images, then their occluded copies.</summary>
    public byte[] Inputs(byte[] images, int count)
    {
        if (count > MaxImages) throw ApiException.BadRequest($"{Query}=true takes at most {MaxImages} images per request, got {count}");
        return Explainer.Inputs(images, Settings);
    }

    /// <summary>One explanation per image from the probabilities of <see cref="Inputs"/>.</summary>
    public IReadOnlyList<ExplanationBody> Explain(byte[] images, float[] probabilities) =>
        [.. Explainer.FromProbabilities(images, probabilities, _neighbours, _options).Select(e => new ExplanationBody(e.Label, e.Class,
            e.Settings.Patch, e.Settings.Stride,
            [.. Enumerable.Range(0, ImageShape.Side).Select(y => e.Occlusion.Skip(y * ImageShape.Side).Take(ImageShape.Side).Select(v => Math.Round(v, 4)).ToArray())],
            [.. e.Neighbours.Select(n => new NeighbourImage(n.Index, n.Label, n.Class, n.Distance, GrayPng.DataUrl(n.Image)))]))];
}
