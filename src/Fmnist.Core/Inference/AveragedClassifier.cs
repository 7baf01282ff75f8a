using Fmnist.Evaluation;

namespace Fmnist.Inference;

/// <summary>Several models named one by one (repeated --model) as one: their calibrated probabilities averaged.</summary>
internal sealed class AveragedClassifier : IClassifier
{
    private readonly IClassifier[] _models;

    /// <summary>Opens every path (each with its own temperature); one path gives that model alone.</summary>
    public static IClassifier Open(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new ArgumentException("no model given", nameof(paths));
        foreach (var p in paths) Classifiers.Check(p);
        if (paths.Count == 1) return Classifiers.Open(paths[0]);
        var models = new List<IClassifier>();
        try
        {
            foreach (var p in paths) models.Add(Classifiers.Open(p));
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
        return new AveragedClassifier([.. models]);
    }

    private AveragedClassifier(IClassifier[] models)
    {
        _models = models;
        var first = models[0].Description;
        Description = first with { Source = string.Join(" + ", models.Select(m => m.Description.Source)), Runtime = $"average of {models.Length} models",
            Parameters = models.Sum(m => m.Description.Parameters), TestAccuracy = null };
    }

    /// <inheritdoc/>
    public ModelDescription Description { get; }

    /// <inheritdoc/>
    public float[] Probabilities(byte[] images, TtaMode tta = TtaMode.None)
    {
        var mean = new ProbabilityMean();
        foreach (var m in _models) mean.Add(m.Probabilities(images, tta));
        return mean.Result();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var m in _models) m.Dispose();
    }
}
