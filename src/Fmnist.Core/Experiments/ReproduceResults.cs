using Fmnist.Evaluation;
using Fmnist.Models.Knn;

namespace Fmnist.Experiments;

internal sealed record StepTiming(string Step, double Seconds, string Command);

internal sealed record KnnSummary(int Threshold, int Train, int Test, IReadOnlyList<(int K, double Accuracy)> Results, double Seconds);

internal sealed record DataSummary(string Directory, string Source, int Train, int Test, bool OfficialContent);

/// <summary>Everything report.md is made from; a plain record so the report can be rendered from fixtures.</summary>
internal sealed record ReproduceResults
{
    public required bool Quick { get; init; }
    public required DateTimeOffset Date { get; init; }
    public required MachineInfo Machine { get; init; }
    public required DataSummary Data { get; init; }
    public required KnnSummary Knn { get; init; }
    public KnnTuning? KnnTuned { get; init; }
    /// <summary>How well the best CNN's probabilities match frequencies on the test set, before and after its
    /// temperature (absent in results of runs made before calibration).</summary>
    public CalibrationReport? Calibration { get; init; }
    public required IReadOnlyList<RunResult> CnnRuns { get; init; }
    public required RunResult BestCnn { get; init; }
    public required Metrics BestMetrics { get; init; }
    public required IReadOnlyList<StepTiming> Steps { get; init; }
    public string QuickNote { get; init; } = "";
    /// <summary>The command that runs the whole job for real (shown in a quick run's report).</summary>
    public string FullCommand { get; init; } = "";
}
