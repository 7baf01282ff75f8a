using Fmnist.Data;
using Fmnist.Imaging;
using Fmnist.Inference;

namespace Fmnist.Explanations;

/// <summary>One photo explained and the figure drawn for it.</summary>
/// <param name="File">The photo, as the user named it.</param>
/// <param name="Png">The figure written for it.</param>
/// <param name="Explanation">What the figure shows.</param>
/// <param name="Recognized">Whether the photo is a garment the model can classify (<see cref="Trust.Judge"/>).</param>
/// <param name="Reason">Why not, when not.</param>
internal sealed record ExplainedPhoto(string File, string Png, Explanation Explanation, bool Recognized, string? Reason);

/// <summary>`fmnist explain`: photos in, one figure per photo out (<see cref="ExplanationFigure"/>).</summary>
internal static class ExplainWorkflow
{
    /// <summary>
    /// Explains each photo (preprocessed as `predict` does) and writes <c>NAME.why.png</c> into <paramref name="outDir"/>.
    /// Every photo is decoded and every model checked before <paramref name="training"/> is called and any model
    /// loads, so a bad file or path fails at once.
    /// </summary>
    /// <param name="models">Run folders or .onnx files; several are averaged as an ensemble.</param>
    /// <param name="files">PNG or JPEG photos.</param>
    /// <param name="outDir">Where the figures go (created if missing).</param>
    /// <param name="training">Loads the training set the nearest neighbours come from; null leaves them out.</param>
    /// <param name="options">Top classes, neighbours, occlusion patch.</param>
    public static IReadOnlyList<ExplainedPhoto> Run(IReadOnlyList<string> models, IReadOnlyList<string> files, string outDir,
        Func<LabeledImages>? training, ExplainOptions? options = null)
    {
        options ??= new ExplainOptions();
        options.Validate();
        if (files.Count == 0) throw new FmnistException("no photo to explain");
        var photos = PhotoFiles.OpenAll(files);
        foreach (var model in models) Classifiers.Check(model);
        var pngs = OutputNames(files).Select(name => Path.Combine(outDir, name)).ToList();
        var train = training?.Invoke();
        var index = train is null || options.Neighbours == 0 ? null : new NeighbourIndex(train);
        var pixels = photos.SelectMany(p => p.Pixels).ToArray();
        var explanations = Explainer.Explain(models, pixels, index, options);
        // The verdict `predict` would give: the first model's trust rule on the probabilities the explanations were made from.
        IReadOnlyList<Trust.JudgedPrediction> verdicts;
        using (var judge = Trust.Judge.Open(models.Count == 1 ? models[0] : null, Classifiers.Trust(models[0]), train ?? new LabeledImages([], [])))
            verdicts = judge.Predictions(photos, [.. explanations.SelectMany(e => e.Probabilities)]);
        Directory.CreateDirectory(outDir);
        for (int i = 0; i < files.Count; i++)
        {
            var caption = verdicts[i].Recognized ? Path.GetFileName(files[i]) : $"{Path.GetFileName(files[i])}: not recognized ({verdicts[i].Reason})";
            ExplanationFigure.Save(explanations[i], caption, pngs[i]);
        }
        return [.. files.Select((f, i) => new ExplainedPhoto(f, pngs[i], explanations[i], verdicts[i].Recognized, verdicts[i].Reason))];
    }

    /// <summary>NAME.why.png for each photo; photos that share a name (from different folders) get NAME-2.why.png and so on.</summary>
    internal static IReadOnlyList<string> OutputNames(IReadOnlyList<string> files)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var file in files)
        {
            var stem = Path.GetFileNameWithoutExtension(file);
            var name = $"{stem}.why.png";
            for (int n = 2; !taken.Add(name); n++) name = $"{stem}-{n}.why.png";
            names.Add(name);
        }
        return names;
    }
}
