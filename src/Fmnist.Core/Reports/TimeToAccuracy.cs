using System.Globalization;
using ScottPlot;

namespace Fmnist.Reports;

/// <summary>One measured run: what it is, its wall minutes of training (an ensemble's members side by side), its test
/// accuracy (scored once), the CPU and the command that made it.</summary>
public sealed record AccuracyPoint(string Label, double Minutes, double TestAccuracy, string Cpu, string Command);

/// <summary>
/// The time-to-accuracy figure: test accuracy against wall minutes of training, one marker per measured run, read
/// from a CSV with the header label,minutes,test_accuracy,cpu,command (docs/results/time-to-accuracy.csv).
/// </summary>
public static class TimeToAccuracy
{
    public static IReadOnlyList<AccuracyPoint> ReadCsv(string path)
    {
        if (!File.Exists(path)) throw new FmnistException($"{path}: file not found");
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0 || lines[0].Trim() != "label,minutes,test_accuracy,cpu,command")
            throw new FmnistException($"{path}: the first line must be label,minutes,test_accuracy,cpu,command");
        var points = new List<AccuracyPoint>();
        for (int i = 1; i < lines.Count; i++)
        {
            var f = lines[i].Split(',', 5);
            if (f.Length != 5 || !double.TryParse(f[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes)
                || !double.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var accuracy) || accuracy is < 0 or > 1 || minutes < 0)
                throw new FmnistException($"{path}: line {i + 1} is not label,minutes,test accuracy (0..1),cpu,command");
            points.Add(new AccuracyPoint(f[0].Trim(), minutes, accuracy, f[3].Trim(), f[4].Trim()));
        }
        return points;
    }

    /// <summary>The figure as a PNG: test accuracy (%) against minutes, each run a labelled marker.</summary>
    public static void SavePlot(IReadOnlyList<AccuracyPoint> points, string path, string title = "Fashion-MNIST: test accuracy against training time")
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("wall minutes of training (2-core CPU; ensemble members side by side)");
        plot.YLabel("test accuracy (%)");
        // One colour per CPU (the part of the cpu column before any parenthesis): minutes are only comparable within one.
        var cpus = points.Select(p => CpuName(p.Cpu)).Distinct().ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var named = new HashSet<string>();
        var (xMax, yMin, yMax) = Limits(points);
        var places = PlaceLabels(points);
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            string cpu = CpuName(p.Cpu);
            var marker = plot.Add.Marker(p.Minutes, p.TestAccuracy * 100);
            marker.MarkerSize = 10;
            marker.Color = palette.GetColor(cpus.IndexOf(cpu));
            if (named.Add(cpu)) marker.LegendText = cpu;
            var text = plot.Add.Text(LabelOf(p), p.Minutes, p.TestAccuracy * 100);
            text.LabelFontSize = 13;
            text.LabelFontName = Plots.FontFamily;
            text.LabelAlignment = places[i].Right ? Alignment.UpperLeft : Alignment.UpperRight;
            text.OffsetX = places[i].Right ? 8 : -8;
            text.OffsetY = -6 + (float)places[i].Dy;
        }
        if (cpus.Count > 1) plot.ShowLegend(Alignment.LowerRight);
        plot.Axes.SetLimitsX(0, xMax);
        if (points.Count > 0) plot.Axes.SetLimitsY(yMin, yMax);
        Plots.SetFont(plot);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(FigureWidth, FigureHeight, ImageFormat.Png));
    }

    /// <summary>"Zen 4" from "Zen 4 (bf16)": the CPU a point's minutes were measured on.</summary>
    public static string CpuName(string cpu)
    {
        int paren = cpu.IndexOf('(');
        return (paren > 0 ? cpu[..paren] : cpu).Trim();
    }

    private const int FigureWidth = 1200, FigureHeight = 640;

    static string LabelOf(AccuracyPoint p) => $"{p.Label} {p.TestAccuracy * 100:F2}%";

    static (double XMax, double YMin, double YMax) Limits(IReadOnlyList<AccuracyPoint> points) =>
        points.Count == 0 ? (60 * 1.45 + 1, 0, 100)
            : (points.Max(p => p.Minutes) * 1.45 + 1, points.Min(p => p.TestAccuracy) * 100 - 0.3, points.Max(p => p.TestAccuracy) * 100 + 0.3);

    /// <summary>
    /// Where each point's label goes: right of its marker (Dy 0), or, when that would cover a label already placed,
    /// the first free place of: left of it, a line above or below on the right, a line above or below on the left;
    /// right where none is free. Boxes are estimated in the figure's pixels (the data area inside the axes, 7.4 px
    /// a character at 13 px): close enough to keep labels apart, as a reader sees them.
    /// </summary>
    internal static IReadOnlyList<(bool Right, double Dy)> PlaceLabels(IReadOnlyList<AccuracyPoint> points)
    {
        var (xMax, yMin, yMax) = Limits(points);
        // The data area: about 70 px of axis on the left, 20 on the right, 40 of title above, 60 of axis below.
        const double left = 70, top = 40, width = FigureWidth - 90, height = FigureHeight - 100;
        var candidates = new[] { (Right: true, Dy: 0.0), (false, 0), (true, -14), (true, 14), (false, -14), (false, 14) };
        var placed = new List<(double L, double T, double R, double B)>();
        var chosen = new List<(bool Right, double Dy)>();
        foreach (var p in points)
        {
            double x = left + p.Minutes / xMax * width, y = top + (yMax - p.TestAccuracy * 100) / (yMax - yMin) * height;
            double labelWidth = LabelOf(p).Length * 7.4;
            var choice = candidates.FirstOrDefault(c => Fits(Box(c)), candidates[0]);
            chosen.Add(choice);
            placed.Add(Box(choice));

            (double L, double T, double R, double B) Box((bool Right, double Dy) c) => c.Right
                ? (x + 8, y - 6 + c.Dy, x + 8 + labelWidth, y + 10 + c.Dy)
                : (x - 8 - labelWidth, y - 6 + c.Dy, x - 8, y + 10 + c.Dy);
        }
        return chosen;

        bool Fits((double L, double T, double R, double B) box) =>
            box.L > left - 10 && box.R < FigureWidth - 10 && !placed.Any(b => box.L < b.R && b.L < box.R && box.T < b.B && b.T < box.B);
    }
}
