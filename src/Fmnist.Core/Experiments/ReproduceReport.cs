using System.Globalization;
using System.Text;

namespace Fmnist.Experiments;

/// <summary>report.md: the seed's tables with our measured numbers beside them, the figures, and how they were made.</summary>
internal static class ReproduceReport
{
    public static string Render(ReproduceResults r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# fmnist: the seed's experiments, reproduced");
        sb.AppendLine();
        if (r.Quick)
        {
            sb.AppendLine($"> **Quick run.** {r.QuickNote} These numbers show that the pipeline works end to end; they are not the seed's experiment. Run {(r.FullCommand == "" ? "the job without its quick option" : $"`{r.FullCommand}`")} for the real figures.");
            sb.AppendLine();
        }
        sb.AppendLine($"Run on {r.Date.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)} on {r.Machine}.");
        sb.AppendLine();
        sb.AppendLine($"Data: {r.Data.Train:N0} training and {r.Data.Test:N0} test images from `{r.Data.Directory}` ({r.Data.Source}; " +
                      (r.Data.OfficialContent ? "checksums match the official Fashion-MNIST content)." : "not the official Fashion-MNIST files)."));
        sb.AppendLine();
        sb.AppendLine("![Examples per class](examples.png)");
        sb.AppendLine();

        sb.AppendLine("## KNN with Hamming distance on binarized images");
        sb.AppendLine();
        sb.AppendLine($"Pixels binarized with `pixel > {r.Knn.Threshold}`, {r.Knn.Train:N0} training / {r.Knn.Test:N0} test images, all K from one search in {r.Knn.Seconds:F2} s.");
        sb.AppendLine();
        sb.AppendLine("| K | Accuracy (fmnist) | Accuracy (seed) |");
        sb.AppendLine("| --- | --- | --- |");
        foreach (var (k, acc) in r.Knn.Results)
            sb.AppendLine($"| {k} | {P(acc)} | {(SeedReference.Knn(k) is { } s ? P(s) : "-")} |");
        sb.AppendLine();
        if (r.KnnTuned is { } t)
        {
            sb.AppendLine($"Tuned on a {t.ValCount:N0}-image validation split of the training set: threshold {t.Best.Threshold}, K={t.Best.K}, " +
                          $"{t.Best.Weights.ToString().ToLowerInvariant()} votes{(t.Best.Shifted ? ", with one-pixel-shifted training copies" : "")} " +
                          $"(validation {P(t.Best.ValAccuracy)}) gives **{P(t.TestAccuracy)}** on the test set.");
            sb.AppendLine();
        }

        sb.AppendLine("## CNN+LSTM");
        sb.AppendLine();
        sb.Append(SweepReport.Table(r.CnnRuns.Select(run => (run, ReferenceEquals(run, r.BestCnn)))));
        sb.AppendLine();
        var bc = r.BestCnn.Config;
        sb.AppendLine($"Training set: {r.BestCnn.TrainImages:N0} images ({bc.Augment.ToString().ToLowerInvariant()} augmentation), validation {r.BestCnn.ValidationImages:N0} images held out before augmentation; " +
                      $"Adam lr {bc.LearningRate.ToString(CultureInfo.InvariantCulture)} ({bc.Schedule.ToString().ToLowerInvariant()}), best epoch {r.BestCnn.BestEpoch} of {r.BestCnn.History.Count} chosen by validation accuracy; the test set was scored once, on that epoch's weights.");
        sb.AppendLine();
        sb.AppendLine("![Training curves](curves.png)");
        sb.AppendLine();
        sb.AppendLine("| Class | Precision | Recall | F1 |");
        sb.AppendLine("| --- | --- | --- | --- |");
        foreach (var m in r.BestMetrics.PerClass) sb.AppendLine($"| {m.Class} | {P(m.Precision)} | {P(m.Recall)} | {P(m.F1)} |");
        sb.AppendLine();
        sb.AppendLine("![Confusion matrix](confusion.png)");
        sb.AppendLine();
        sb.AppendLine("![Misclassified test images](errors.png)");
        sb.AppendLine();
        if (r.Calibration is { } c)
        {
            sb.AppendLine($"Calibration: a temperature of {c.Temperature.ToString("0.###", CultureInfo.InvariantCulture)} fitted on the validation split brings the test set's " +
                          $"expected calibration error (15 bins) from {P(c.Before.Ece)} to {P(c.After.Ece)} and its NLL from {c.Before.Nll.ToString("0.000", CultureInfo.InvariantCulture)} " +
                          $"to {c.After.Nll.ToString("0.000", CultureInfo.InvariantCulture)}; predictions also say whether a photo is recognized as a garment at all (docs/trust.md).");
            sb.AppendLine();
            sb.AppendLine("![Reliability diagram](reliability.png)");
            sb.AppendLine();
        }

        sb.AppendLine("## Comparison with the seed and published benchmarks");
        sb.AppendLine();
        sb.AppendLine("| Method/Classifier | Preprocessing | Accuracy |");
        sb.AppendLine("| --- | --- | --- |");
        sb.AppendLine($"| **2 Conv+pooling+LSTM+2 dense (fmnist, this run)** | Standardization, random shear, flip, translation, zoom | **{P(r.BestCnn.TestAccuracy)}** |");
        if (r.KnnTuned is { } tuned)
            sb.AppendLine($"| KNN, K={tuned.Best.K} (fmnist, tuned on validation) | Binarization at {tuned.Best.Threshold}{(tuned.Best.Shifted ? ", shifted copies" : "")} | {P(tuned.TestAccuracy)} |");
        var k9 = r.Knn.Results.FirstOrDefault(x => x.K == 9);
        if (k9.K == 9) sb.AppendLine($"| KNN, K=9 (fmnist) | Binarization at {r.Knn.Threshold} | {P(k9.Accuracy)} |");
        foreach (var p in SeedReference.Published) sb.AppendLine($"| {p.Method} | {p.Preprocessing} | {P(p.Accuracy)} |");
        sb.AppendLine();

        sb.AppendLine("## How this report was made");
        sb.AppendLine();
        sb.AppendLine("| Step | Wall time | Command |");
        sb.AppendLine("| --- | --- | --- |");
        foreach (var s in r.Steps) sb.AppendLine($"| {s.Step} | {Time(s.Seconds)} | {(s.Command == "" ? "" : $"`{s.Command}`")} |");
        sb.AppendLine($"| total | {Time(r.Steps.Sum(s => s.Seconds))} | |");
        return sb.ToString();
    }

    private static string Time(double seconds) => seconds < 90 ? $"{seconds:F1} s" : $"{seconds / 60:F1} min";
    private static string P(double v) => SweepReport.P(v);
}
