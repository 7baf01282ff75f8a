namespace Fmnist.Reports;

/// <summary>One epoch of a training run, as plotted by <see cref="Plots.SaveCurves"/>.</summary>
public sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double? ValLoss, double? ValAccuracy);
