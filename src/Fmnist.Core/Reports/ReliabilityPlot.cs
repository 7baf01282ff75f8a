using Fmnist.Trust;
using ScottPlot;

namespace Fmnist.Reports;

/// <summary>The reliability diagram: per confidence bin, how often the top class was right, before and after calibration.</summary>
internal static class ReliabilityPlot
{
    /// <summary>Draws both sets of bins with the diagonal (perfect calibration) into a PNG at <paramref name="path"/>.</summary>
    public static void Save(IReadOnlyList<ReliabilityBin> before, IReadOnlyList<ReliabilityBin> after, CalibrationScore scoreBefore,
        CalibrationScore scoreAfter, double temperature, string path)
    {
        var plot = new Plot();
        plot.Title($"Reliability (T = {temperature:0.###})");
        plot.XLabel("Confidence (top probability)");
        plot.YLabel("Accuracy");
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LineColor = Colors.Gray;
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "perfect calibration";
        Add(plot, before, $"before: ECE {scoreBefore.Ece:P2}, NLL {scoreBefore.Nll:0.000}", Colors.OrangeRed);
        Add(plot, after, $"after: ECE {scoreAfter.Ece:P2}, NLL {scoreAfter.Nll:0.000}", Colors.SteelBlue);
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.ShowLegend(Alignment.UpperLeft);
        Plots.SetFont(plot);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(760, 640, ImageFormat.Png));
    }

    private static void Add(Plot plot, IReadOnlyList<ReliabilityBin> bins, string label, Color color)
    {
        var used = bins.Where(b => b.Count > 0).ToList();
        var line = plot.Add.Scatter(used.Select(b => b.Confidence).ToArray(), used.Select(b => b.Accuracy).ToArray());
        line.LegendText = label;
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = 7;
    }
}
