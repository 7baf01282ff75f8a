using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Imaging;
using Fmnist.Inference;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>What <see cref="EvaluationWorkflow.Evaluate(string, LabeledImages, string?, int, Evaluation.TtaMode)"/> measured and drew.</summary>
/// <param name="ModelDirs">The run folders whose averaged predictions were scored (one, or an ensemble).</param>
/// <param name="Metrics">Accuracy, confusion matrix, per-class scores.</param>
/// <param name="TestImages">How many images were scored.</param>
/// <param name="ConfusionPng">The confusion matrix figure.</param>
/// <param name="ErrorsPng">The misclassified examples figure.</param>
public sealed record EvaluationReport(IReadOnlyList<string> ModelDirs, Metrics Metrics, int TestImages, string ConfusionPng, string ErrorsPng);

/// <summary>The top classes for one photo, most likely first.</summary>
public sealed record Prediction(string File, IReadOnlyList<(string Class, double Probability)> Top);

/// <summary>
/// The seed's test.py, and predictions for a person's own photos. Several run folders form an ensemble:
/// each model standardizes with its own training statistics and their class probabilities are averaged.
/// </summary>
public static class EvaluationWorkflow
{
    /// <summary>Scores the model in <paramref name="modelDir"/> (run folder or .onnx file) on <paramref name="test"/> and draws confusion.png and errors.png into <paramref name="outDir"/> (default: beside the model).</summary>
    /// <param name="modelDir">A run folder or an exported .onnx file.</param>
    /// <param name="test">The images to score, usually the test split.</param>
    /// <param name="outDir">Where the figures go.</param>
    /// <param name="errorExamples">How many misclassified images errors.png shows.</param>
    /// <param name="tta">Test-time augmentation: the views whose probabilities are averaged (Evaluation.Tta).</param>
    public static EvaluationReport Evaluate(string modelDir, LabeledImages test, string? outDir = null, int errorExamples = 40, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
        => Evaluate([modelDir], test, outDir ?? Classifiers.DefaultOutputFolder(modelDir), errorExamples, tta);

    /// <summary>As <see cref="Evaluate(string, LabeledImages, string?, int, Evaluation.TtaMode)"/> for an ensemble: the models' probabilities are averaged.</summary>
    /// <param name="modelDirs">Run folders or .onnx files.</param>
    /// <param name="test">The images to score.</param>
    /// <param name="outDir">Where the figures go.</param>
    /// <param name="errorExamples">How many misclassified images errors.png shows.</param>
    /// <param name="tta">Test-time augmentation: the views whose probabilities are averaged (Evaluation.Tta).</param>
    public static EvaluationReport Evaluate(IReadOnlyList<string> modelDirs, LabeledImages test, string outDir, int errorExamples = 40, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        var probs = Probabilities(modelDirs, test.Images, tta);
        var predicted = Evaluator.ArgMax(probs);
        var metrics = Metrics.From(predicted, test.Labels);
        Directory.CreateDirectory(outDir);
        var confusion = Path.Combine(outDir, "confusion.png");
        var errors = Path.Combine(outDir, "errors.png");
        Reports.Plots.SaveConfusion(metrics.Confusion, ClassNames.All, confusion);
        var wrong = Enumerable.Range(0, test.Count).Where(i => predicted[i] != test.Labels[i]).Take(errorExamples).ToList();
        Reports.Plots.SaveImageGrid(wrong.Select(i => test.Image(i).ToArray()).ToList(),
            wrong.Select(i => $"true: {ClassNames.All[test.Labels[i]]}\npred: {ClassNames.All[predicted[i]]}").ToList(), 8, errors);
        return new EvaluationReport([.. modelDirs], metrics, test.Count, confusion, errors);
    }

    /// <summary>Class probabilities (N*10), averaged over the models; every folder is checked before any image is scored.</summary>
    public static float[] Probabilities(IReadOnlyList<string> modelDirs, byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        if (modelDirs.Count == 0) throw new ArgumentException("no model given", nameof(modelDirs));
        foreach (var dir in modelDirs) Classifiers.Check(dir);
        var mean = new ProbabilityMean();
        foreach (var dir in modelDirs)
            using (var model = Classifiers.Open(dir)) mean.Add(model.Probabilities(images, tta));
        return mean.Result();
    }

    /// <summary>The run's own validation images: the same stratified, seeded split its training held out.</summary>
    public static LabeledImages ValidationSet(string modelDir, LabeledImages train) => ValidationSet([modelDir], train);

    /// <summary>The validation images all the runs held out; runs that held out different images are refused.</summary>
    public static LabeledImages ValidationSet(IReadOnlyList<string> modelDirs, LabeledImages train)
    {
        if (modelDirs.FirstOrDefault(Classifiers.IsOnnxFile) is { } onnx)
            throw new FmnistException($"{onnx}: --split validation needs the run folder (the held-out split is rebuilt from its config); use --split test for an .onnx file");
        modelDirs = modelDirs.SelectMany(Classifiers.RunFolders).ToList(); // an ensemble: its members
        var folder = new RunFolder(modelDirs[0]);
        var c = folder.ReadInfo().Config;
        if (!c.HasValidation)
            throw new FmnistException($"{folder.ConfigPath}: this run held out no validation images (validation fraction 0); evaluate it on the test split");
        foreach (var other in modelDirs.Skip(1).Select(d => new RunFolder(d)))
        {
            var o = other.ReadInfo().Config;
            if (o.ValidationFraction != c.ValidationFraction || (o.SplitSeed ?? o.Seed) != (c.SplitSeed ?? c.Seed) || o.TrainLimit != c.TrainLimit)
                throw new FmnistException($"{other.ConfigPath}: held out other validation images than {folder.ConfigPath} (seed, fraction or limit differ); an ensemble can be validated only on a split all its members held out");
        }
        var source = train.Take(c.TrainLimit);
        return source.Select(Splits.Stratified(source.Labels, c.ValidationFraction, c.SplitSeed ?? c.Seed).Validation);
    }

    /// <summary>The <paramref name="top"/> classes for each photo in <paramref name="files"/> (PNG or JPEG, any size), preprocessed like the dataset (<see cref="Imaging.PhotoPreprocessor"/>).</summary>
    /// <param name="modelDir">A run folder or an exported .onnx file.</param>
    /// <param name="files">The photos; every one is decoded before the model loads, so a bad file fails first.</param>
    /// <param name="top">How many classes per photo.</param>
    /// <param name="tta">Test-time augmentation: the views whose probabilities are averaged (Evaluation.Tta).</param>
    public static IReadOnlyList<Prediction> Predict(string modelDir, IReadOnlyList<string> files, int top = 3, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
        => Predict([modelDir], files, top, tta);

    /// <summary>As <see cref="Predict(string, IReadOnlyList{string}, int, Evaluation.TtaMode)"/> for an ensemble.</summary>
    /// <param name="modelDirs">Run folders or .onnx files.</param>
    /// <param name="files">The photos.</param>
    /// <param name="top">How many classes per photo.</param>
    /// <param name="tta">Test-time augmentation: the views whose probabilities are averaged (Evaluation.Tta).</param>
    public static IReadOnlyList<Prediction> Predict(IReadOnlyList<string> modelDirs, IReadOnlyList<string> files, int top = 3, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        // Decode every file first: a bad file fails before the model is loaded.
        var images = files.Select(PhotoPreprocessor.Load).ToList();
        var probs = Probabilities(modelDirs, images.SelectMany(b => b).ToArray(), tta);
        return files.Select((f, i) => new Prediction(f, Enumerable.Range(0, ClassNames.Count)
            .Select(c => (ClassNames.All[c], (double)probs[i * ClassNames.Count + c]))
            .OrderByDescending(p => p.Item2).Take(top).ToList())).ToList();
    }
}
