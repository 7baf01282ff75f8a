using System.Text.Json.Serialization;
using Fmnist.Training;

namespace Fmnist.Serve;

public sealed record ClassProbability(int Label, string Class, double Probability);

/// <param name="Image">The 28x28 image the model saw, as a PNG data URL.</param>
/// <param name="Recognized">Whether the photo is a garment the model can classify (the top-3 are given either way).</param>
/// <param name="Reason">Why not, in words for a person; null when recognized.</param>
/// <param name="Explanation">Why, with `explain=true`; left out otherwise.</param>
public sealed record ImagePrediction(string Name, IReadOnlyList<ClassProbability> Top, string Image, bool Recognized, string? Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExplanationBody? Explanation = null);

/// <param name="Label">The class explained: the top one.</param>
/// <param name="Occlusion">28 rows of 28 numbers over the image the model saw: how much the class's probability falls when a
/// Patch x Patch square covering that pixel is blacked out (mean over such squares); negative where it rises.</param>
/// <param name="Neighbours">The nearest training images (Hamming distance on pixel &gt; 127), nearest first.</param>
public sealed record ExplanationBody(int Label, string Class, int Patch, int Stride, IReadOnlyList<double[]> Occlusion, IReadOnlyList<NeighbourImage> Neighbours);

/// <param name="Index">Its index in the Fashion-MNIST training set.</param>
/// <param name="Distance">Pixels that differ between the two images binarized at 127.</param>
/// <param name="Image">The training image, as a PNG data URL.</param>
public sealed record NeighbourImage(int Index, int Label, string Class, int Distance, string Image);

/// <param name="BatchImages">Images in the forward pass this request shared (1 when it ran alone).</param>
/// <param name="InferenceMs">That forward pass.</param>
/// <param name="TotalMs">From the request's arrival to its answer: reading, decoding, queueing, inference.</param>
public sealed record PredictResponse(IReadOnlyList<ImagePrediction> Predictions, int BatchImages, double InferenceMs, double TotalMs);

/// <summary>A random test image, its true class and the model's prediction for it (no preprocessing: it is already 28x28).</summary>
public sealed record SampleResponse(int Index, int Label, string TrueClass, ImagePrediction Prediction, int BatchImages, double InferenceMs, double TotalMs);

/// <param name="QueueLimit">Requests that may wait for a pass; more get 503.</param>
/// <param name="DeadlineMs">A request not answered in this time gets 504.</param>
public sealed record BatchingSettings(int MaxImages, double WaitMs, int QueueLimit, int DeadlineMs);

public sealed record ModelResponse(IReadOnlyList<string> Classes, string Source, string Runtime, long Parameters,
    double? TestAccuracy, TrainConfig? Config, BatchingSettings Batching, int? TestSamples);

/// <param name="InFlight">Requests for the model being handled now (reading, decoding, queued or in a pass).</param>
/// <param name="Queued">Of those, the ones waiting for a forward pass (refused beyond --queue-limit).</param>
/// <param name="Decoding">Of those, the ones decoding their images (at most --decode-limit).</param>
public sealed record HealthResponse(string Status, int InFlight, int Queued, int Decoding);
