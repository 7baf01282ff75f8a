using System.Net;
using Fmnist.Data;

namespace Fmnist.Serve;

/// <summary>How `fmnist serve` runs. Defaults live here only; the CLI's help repeats them.</summary>
/// <param name="Urls">Kestrel URLs; port 0 picks a free port (tests).</param>
/// <param name="Batch">Most images in one forward pass; 1 turns batching across requests off.</param>
/// <param name="BatchWaitMs">How long the first request of a batch waits for others to join it.</param>
/// <param name="Samples">The test set behind /api/samples/random; null answers that route with 503.</param>
/// <param name="Limits">Queue, deadline and slow-client limits; null takes <see cref="ServeLimits"/>' defaults.</param>
/// <param name="ApiKey">When set, every /api/* request needs `Authorization: Bearer KEY`; required off loopback.</param>
/// <param name="Train">The training set that `explain=true` finds nearest neighbours in, and the neighbour check of
/// `recognized` compares with; null explains without them.</param>
/// <param name="Trust">The model's trust.json (<see cref="Inference.Classifiers.Trust"/>): the rule behind `recognized`;
/// null keeps the photo checks alone.</param>
internal sealed record ServeOptions(
    string Urls = ServeOptions.DefaultUrls,
    int Batch = ServeOptions.DefaultBatch,
    double BatchWaitMs = ServeOptions.DefaultBatchWaitMs,
    LabeledImages? Samples = null,
    ServeLimits? Limits = null,
    string? ApiKey = null,
    LabeledImages? Train = null,
    Trust.TrustInfo? Trust = null)
{
    public const string DefaultUrls = "http://127.0.0.1:8080";
    public const int DefaultBatch = 32;
    public const double DefaultBatchWaitMs = 2;
    public const string ApiKeyVariable = "FMNIST_API_KEY";

    /// <summary>The API's limit on a request body; <see cref="UploadReader"/> enforces it and answers 413.</summary>
    public const long MaxBodyBytes = 10 * 1024 * 1024;

    /// <summary>
    /// Kestrel's own body limit, above <see cref="MaxBodyBytes"/>. After a 413 for a body still on its way (chunked,
    /// or sent without waiting for "100 Continue"), Kestrel reads and discards the rest for up to 5 s so the client
    /// can read the answer; were this the API limit itself, that drain would trip it, and the connection would be
    /// reset under a client still sending. Beyond this many bytes the connection is closed instead.
    /// </summary>
    public const long DrainCeilingBytes = 4 * MaxBodyBytes;
    public const int MaxFiles = 64;

    public ServeLimits Limit => Limits ?? new ServeLimits();

    public IEnumerable<string> UrlList => Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public void Validate()
    {
        if (Batch < 1 || Batch > 1024) throw new FmnistException($"--batch must be between 1 and 1024, got {Batch}");
        if (BatchWaitMs < 0 || BatchWaitMs > 1000) throw new FmnistException($"--batch-wait-ms must be between 0 and 1000, got {BatchWaitMs}");
        if (string.IsNullOrWhiteSpace(Urls)) throw new FmnistException("--urls must name at least one URL");
        if (ApiKey is not null && (ApiKey.Length < 8 || ApiKey.Any(c => c <= ' ' || c > '~')))
            throw new FmnistException("--api-key must be at least 8 printable ASCII characters without spaces");
        Limit.Validate();
        // A server that leaves the machine answers anyone who can reach it: it must not do so without a key.
        if (ApiKey is null && UrlList.FirstOrDefault(u => !IsLoopback(u)) is { } open)
            throw new FmnistException($"refusing to listen on {open} without an API key: pass --api-key KEY (or set {ApiKeyVariable}), or listen on loopback (http://127.0.0.1:PORT)");
    }

    /// <summary>Whether a Kestrel URL binds only this machine's loopback interface ("*", "+", 0.0.0.0 and names bind more).</summary>
    public static bool IsLoopback(string url)
    {
        var rest = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        var authority = rest.Split('/')[0];
        string host;
        if (authority.StartsWith('['))
            host = authority[1..Math.Max(1, authority.IndexOf(']'))];
        else
        {
            int colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }
}
