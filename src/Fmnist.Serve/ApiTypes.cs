using Fmnist.Training;

namespace Fmnist.Serve;

public sealed record ClassProbability(int Label, string Class, double Probability);

/// <param name="Image">The 28x28 image the model saw, as a PNG data URL.</param>
public sealed record ImagePrediction(string Name, IReadOnlyList<ClassProbability> Top, string Image);

/// <param name="BatchImages">Images in the forward pass this request shared (1 when it ran alone).</param>
/// <param name="InferenceMs">That forward pass.</param>
/// <param name="TotalMs">From the request's arrival to its answer: reading, decoding, queueing, inference.</param>
public sealed record PredictResponse(IReadOnlyList<ImagePrediction> Predictions, int BatchImages, double InferenceMs, double TotalMs);

/// <summary>A random test image, its true class and the model's prediction for it (no preprocessing: it is already 28x28).</summary>
public sealed record SampleResponse(int Index, int Label, string TrueClass, ImagePrediction Prediction, int BatchImages, double InferenceMs, double TotalMs);

public sealed record BatchingSettings(int MaxImages, double WaitMs);

public sealed record ModelResponse(IReadOnlyList<string> Classes, string Source, string Runtime, long Parameters,
    double? TestAccuracy, TrainConfig? Config, BatchingSettings Batching, int? TestSamples);

public sealed record HealthResponse(string Status);
