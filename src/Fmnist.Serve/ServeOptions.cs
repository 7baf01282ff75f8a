using Fmnist.Data;

namespace Fmnist.Serve;

/// <summary>How `fmnist serve` runs. Defaults live here only; the CLI's help repeats them.</summary>
/// <param name="Urls">Kestrel URLs; port 0 picks a free port (tests).</param>
/// <param name="Batch">Most images in one forward pass; 1 turns batching across requests off.</param>
/// <param name="BatchWaitMs">How long the first request of a batch waits for others to join it.</param>
/// <param name="Samples">The test set behind /api/samples/random; null answers that route with 503.</param>
public sealed record ServeOptions(
    string Urls = ServeOptions.DefaultUrls,
    int Batch = ServeOptions.DefaultBatch,
    double BatchWaitMs = ServeOptions.DefaultBatchWaitMs,
    LabeledImages? Samples = null)
{
    public const string DefaultUrls = "http://127.0.0.1:8080";
    public const int DefaultBatch = 32;
    public const double DefaultBatchWaitMs = 2;

    public const long MaxBodyBytes = 10 * 1024 * 1024;
    public const int MaxFiles = 64;

    public void Validate()
    {
        if (Batch < 1 || Batch > 1024) throw new FmnistException($"--batch must be between 1 and 1024, got {Batch}");
        if (BatchWaitMs < 0 || BatchWaitMs > 1000) throw new FmnistException($"--batch-wait-ms must be between 0 and 1000, got {BatchWaitMs}");
        if (string.IsNullOrWhiteSpace(Urls)) throw new FmnistException("--urls must name at least one URL");
    }
}
