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
/// <param name="Calibration">NLL and ECE before and after the temperature, and the reliability diagram.</param>
/// <param name="NotRecognized">For photos (<c>evaluate --images</c>): the share the model did not recognize as garments; null for dataset images.</param>
public sealed record EvaluationReport(IReadOnlyList<string> ModelDirs, Metrics Metrics, int TestImages, string ConfusionPng, string ErrorsPng,
    CalibrationReport Calibration, double? NotRecognized = null);

/// <summary>How well the probabilities match frequencies on the evaluated images, at temperature 1 and at the model's own.</summary>
/// <param name="Temperature">The model's temperature (1 when never calibrated).</param>
/// <param name="Note">How the temperature was fitted, in words.</param>
/// <param name="Before">NLL and ECE at temperature 1.</param>
/// <param name="After">NLL and ECE at <paramref name="Temperature"/>.</param>
/// <param name="ReliabilityPng">The reliability diagram.</param>
public sealed record CalibrationReport(double Temperature, string Note, Trust.CalibrationScore Before, Trust.CalibrationScore After, string ReliabilityPng);

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
        var (raw, temperature, map, note) = UncalibratedProbabilities(modelDirs, test.Images, tta);
        return Report(modelDirs, test, Trust.Calibration.Apply(raw, temperature, map), raw, temperature, note, outDir, errorExamples, null);
    }

    /// <summary>As <see cref="Evaluate(IReadOnlyList{string}, LabeledImages, string, int, Evaluation.TtaMode)"/> for a person's
    /// photos in class subfolders of <paramref name="imagesDir"/> (one subfolder per class name), adding the share not recognized.</summary>
    public static EvaluationReport EvaluatePhotos(IReadOnlyList<string> modelDirs, string imagesDir, LabeledImages train, string outDir,
        int errorExamples = 40, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        var labelled = ClassFolders.Read(imagesDir);
        var photos = PhotoFiles.OpenAll(labelled.Select(l => l.File).ToList());
        var images = new LabeledImages(photos.SelectMany(p => p.Pixels).ToArray(), labelled.Select(l => (byte)l.Label).ToArray());
        var (raw, temperature, map, note) = UncalibratedProbabilities(modelDirs, images.Images, tta);
        var probs = Trust.Calibration.Apply(raw, temperature, map);
        using var judge = Trust.Judge.Open(modelDirs.Count == 1 ? modelDirs[0] : null, Classifiers.Trust(modelDirs[0]), train);
        double notRecognized = judge.Predictions(photos, probs).Count(p => !p.Recognized) / (double)photos.Count;
        return Report(modelDirs, images, probs, raw, temperature, note, outDir, errorExamples, notRecognized);
    }

    private static EvaluationReport Report(IReadOnlyList<string> modelDirs, LabeledImages test, float[] probs, float[] raw, double temperature,
        string note, string outDir, int errorExamples, double? notRecognized)
    {
        var predicted = Evaluator.ArgMax(probs);
        var metrics = Metrics.From(predicted, test.Labels);
        Directory.CreateDirectory(outDir);
        var confusion = Path.Combine(outDir, "confusion.png");
        var errors = Path.Combine(outDir, "errors.png");
        var reliability = Path.Combine(outDir, "reliability.png");
        Reports.Plots.SaveConfusion(metrics.Confusion, ClassNames.All, confusion);
        var wrong = Enumerable.Range(0, test.Count).Where(i => predicted[i] != test.Labels[i]).Take(errorExamples).ToList();
        Reports.Plots.SaveImageGrid(wrong.Select(i => test.Image(i).ToArray()).ToList(),
            wrong.Select(i => $"true: {ClassNames.All[test.Labels[i]]}\npred: {ClassNames.All[predicted[i]]}").ToList(), 8, errors);
        var before = Trust.Calibration.Score(raw, test.Labels);
        var after = Trust.Calibration.Score(probs, test.Labels);
        Reports.ReliabilityPlot.Save(Trust.Calibration.Reliability(raw, test.Labels), Trust.Calibration.Reliability(probs, test.Labels),
            before, after, temperature, reliability);
        return new EvaluationReport([.. modelDirs], metrics, test.Count, confusion, errors,
            new CalibrationReport(temperature, note, before, after, reliability), notRecognized);
    }

    /// <summary>The models' averaged probabilities before any temperature, the temperature and top map of the first model and how they were fitted.</summary>
    private static (float[] Raw, double Temperature, Trust.TopMap? Map, string Note) UncalibratedProbabilities(IReadOnlyList<string> modelDirs, byte[] images, Evaluation.TtaMode tta)
    {
        var raw = Probabilities(modelDirs, images, tta, calibrated: false);
        var info = Classifiers.Trust(modelDirs[0]);
        var note = modelDirs.Count > 1 && info is not null ? $"{Trust.Judge.Note(info)} (the first model's, applied to the average)" : Trust.Judge.Note(info);
        return (raw, info?.Temperature ?? 1, info?.TopMap, note);
    }

    /// <summary>Class probabilities (N*10), averaged over the models; every folder is checked before any image is scored.</summary>
    /// <param name="modelDirs">Run folders, ensemble folders or .onnx files.</param>
    /// <param name="images">N*784 raw pixels.</param>
    /// <param name="tta">Test-time views averaged.</param>
    /// <param name="calibrated">Each model's temperature applied before the mean (false: the members as trained, whose
    /// mean is what an ensemble folder averages before its own temperature).</param>
    public static float[] Probabilities(IReadOnlyList<string> modelDirs, byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None, bool calibrated = true)
    {
        if (modelDirs.Count == 0) throw new ArgumentException("no model given", nameof(modelDirs));
        foreach (var dir in modelDirs) Classifiers.Check(dir);
        var mean = new ProbabilityMean();
        foreach (var dir in modelDirs)
            using (var model = calibrated ? Classifiers.Open(dir) : Classifiers.OpenUncalibrated(dir)) mean.Add(model.Probabilities(images, tta));
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

    /// <summary>The <paramref name="top"/> classes for each photo, whether it is recognized as a garment and why not
    /// (docs/trust.md). Photos are prepared like the dataset (<see cref="Imaging.PhotoPreprocessor"/>).</summary>
    /// <param name="modelDirs">Run folders, ensemble folders or .onnx files; several are averaged and the first one's trust rule applies.</param>
    /// <param name="files">Photo files and folders (searched recursively); every photo is decoded before the model loads, so a bad file fails first.</param>
    /// <param name="train">The training images (the neighbour check compares each photo with them).</param>
    /// <param name="top">How many classes per photo.</param>
    /// <param name="tta">Test-time augmentation: the views whose probabilities are averaged (Evaluation.Tta).</param>
    public static PredictionRun Predict(IReadOnlyList<string> modelDirs, IReadOnlyList<string> files, LabeledImages train, int top = 3,
        Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        var photos = Imaging.PhotoFiles.OpenAll(Imaging.PhotoFiles.Expand(files));
        using var model = new Trust.TrustedModel(TtaClassifier.Wrap(AveragedClassifier.Open(modelDirs), tta), Classifiers.Trust(modelDirs[0]), train);
        return new PredictionRun(model.Classify(photos, top), model.CalibrationNote);
    }
}

/// <summary>What `predict` answers: one judged prediction per photo, and how the probabilities were calibrated.</summary>
public sealed record PredictionRun(IReadOnlyList<Trust.JudgedPrediction> Predictions, string Calibration);
