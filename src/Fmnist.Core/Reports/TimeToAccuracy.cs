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
        foreach (var p in points)
        {
            string cpu = CpuName(p.Cpu);
            var marker = plot.Add.Marker(p.Minutes, p.TestAccuracy * 100);
            marker.MarkerSize = 10;
            marker.Color = palette.GetColor(cpus.IndexOf(cpu));
            if (named.Add(cpu)) marker.LegendText = cpu;
            var text = plot.Add.Text($"{p.Label} {p.TestAccuracy * 100:F2}%", p.Minutes, p.TestAccuracy * 100);
            text.LabelFontSize = 13;
            text.LabelFontName = Plots.FontFamily;
            text.OffsetX = 8;
            text.OffsetY = -6;
        }
        if (cpus.Count > 1) plot.ShowLegend(Alignment.LowerRight);
        double maxMinutes = points.Count == 0 ? 60 : points.Max(p => p.Minutes);
        plot.Axes.SetLimitsX(0, maxMinutes * 1.45 + 1);
        if (points.Count > 0) plot.Axes.SetLimitsY(points.Min(p => p.TestAccuracy) * 100 - 0.3, points.Max(p => p.TestAccuracy) * 100 + 0.3);
        Plots.SetFont(plot);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1200, 640, ImageFormat.Png));
    }

    /// <summary>"Zen 4" from "Zen 4 (bf16)": the CPU a point's minutes were measured on.</summary>
    public static string CpuName(string cpu)
    {
        int paren = cpu.IndexOf('(');
        return (paren > 0 ? cpu[..paren] : cpu).Trim();
    }
}
