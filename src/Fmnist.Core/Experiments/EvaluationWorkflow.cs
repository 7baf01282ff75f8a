using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Imaging;
using Fmnist.Training;

namespace Fmnist.Experiments;

public sealed record EvaluationReport(string ModelDir, Metrics Metrics, int TestImages, string ConfusionPng, string ErrorsPng);

public sealed record Prediction(string File, IReadOnlyList<(string Class, double Probability)> Top);

/// <summary>The seed's test.py, and predictions for a person's own photos.</summary>
public static class EvaluationWorkflow
{
    public static EvaluationReport Evaluate(string modelDir, LabeledImages test, string? outDir = null, int errorExamples = 40, bool flipTta = false)
    {
        var folder = new RunFolder(modelDir);
        var (net, info) = folder.LoadBest();
        float[] probs;
        using (net) probs = Evaluator.Probabilities(net, test.Images, info.Normalization, flipTta);
        var predicted = Evaluator.ArgMax(probs);
        var metrics = Metrics.From(predicted, test.Labels);
        var dir = outDir ?? folder.Directory;
        var confusion = Path.Combine(dir, "confusion.png");
        var errors = Path.Combine(dir, "errors.png");
        Reports.Plots.SaveConfusion(metrics.Confusion, ClassNames.All, confusion);
        var wrong = Enumerable.Range(0, test.Count).Where(i => predicted[i] != test.Labels[i]).Take(errorExamples).ToList();
        Reports.Plots.SaveImageGrid(wrong.Select(i => test.Image(i).ToArray()).ToList(),
            wrong.Select(i => $"true: {ClassNames.All[test.Labels[i]]}\npred: {ClassNames.All[predicted[i]]}").ToList(), 8, errors);
        return new EvaluationReport(folder.Directory, metrics, test.Count, confusion, errors);
    }

    /// <summary>The run's own validation images: the same stratified, seeded split its training held out.</summary>
    public static LabeledImages ValidationSet(string modelDir, LabeledImages train)
    {
        var c = new RunFolder(modelDir).ReadInfo().Config;
        var source = train.Take(c.TrainLimit);
        return source.Select(Splits.Stratified(source.Labels, c.ValidationFraction, c.Seed).Validation);
    }

    public static IReadOnlyList<Prediction> Predict(string modelDir, IReadOnlyList<string> files, int top = 3, bool flipTta = false)
    {
        // Decode every file first: a bad file fails before the model is loaded.
        var images = files.Select(PhotoPreprocessor.Load).ToList();
        var (net, info) = new RunFolder(modelDir).LoadBest();
        float[] probs;
        using (net) probs = Evaluator.Probabilities(net, images.SelectMany(b => b).ToArray(), info.Normalization, flipTta);
        return files.Select((f, i) => new Prediction(f, Enumerable.Range(0, ClassNames.Count)
            .Select(c => (ClassNames.All[c], (double)probs[i * ClassNames.Count + c]))
            .OrderByDescending(p => p.Item2).Take(top).ToList())).ToList();
    }
}
