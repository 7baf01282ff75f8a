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
        double maxMinutes = points.Count == 0 ? 60 : points.Max(p => p.Minutes);
        double xMax = maxMinutes * 1.45 + 1;
        double yMin = points.Count == 0 ? 0 : points.Min(p => p.TestAccuracy) * 100 - 0.3;
        double yMax = points.Count == 0 ? 100 : points.Max(p => p.TestAccuracy) * 100 + 0.3;
        var placed = new List<(double Left, double Top, double Right, double Bottom)>();
        foreach (var p in points)
        {
            string cpu = CpuName(p.Cpu);
            var marker = plot.Add.Marker(p.Minutes, p.TestAccuracy * 100);
            marker.MarkerSize = 10;
            marker.Color = palette.GetColor(cpus.IndexOf(cpu));
            if (named.Add(cpu)) marker.LegendText = cpu;
            string label = $"{p.Label} {p.TestAccuracy * 100:F2}%";
            var text = plot.Add.Text(label, p.Minutes, p.TestAccuracy * 100);
            text.LabelFontSize = 13;
            text.LabelFontName = Plots.FontFamily;
            // The label goes right of its marker, or where it covers no label already drawn: left of it, or a line
            // above or below on either side; where every place is taken, right.
            var (x, y) = ApproximatePixel(p.Minutes, p.TestAccuracy * 100, xMax, yMin, yMax);
            double width = label.Length * LabelCharPixels;
            var places = new[] { (Right: true, Dy: 0.0), (false, 0), (true, -14), (true, 14), (false, -14), (false, 14) };
            var choice = places.FirstOrDefault(c => Fits(Box(x, y, width, c.Right, c.Dy)), places[0]);
            text.LabelAlignment = choice.Right ? Alignment.UpperLeft : Alignment.UpperRight;
            text.OffsetX = choice.Right ? 8 : -8;
            text.OffsetY = -6 + (float)choice.Dy;
            placed.Add(Box(x, y, width, choice.Right, choice.Dy));

            bool Fits((double L, double T, double R, double B) box) => box.L > 60 && box.R < 1190 && !placed.Any(b => Overlap(b, box));
        }
        if (cpus.Count > 1) plot.ShowLegend(Alignment.LowerRight);
        plot.Axes.SetLimitsX(0, xMax);
        if (points.Count > 0) plot.Axes.SetLimitsY(yMin, yMax);
        Plots.SetFont(plot);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1200, 640, ImageFormat.Png));
    }

    /// <summary>"Zen 4" from "Zen 4 (bf16)": the CPU a point's minutes were measured on.</summary>
    public static string CpuName(string cpu)
    {
        int paren = cpu.IndexOf('(');
        return (paren > 0 ? cpu[..paren] : cpu).Trim();
    }

    // Where a point lands in the 1200 x 640 figure, roughly (the data area inside the axes and title), and the
    // width of a label character at 13 px: enough to tell whether two labels would cover each other.
    private const double LabelCharPixels = 7.4;

    private static (double X, double Y) ApproximatePixel(double minutes, double percent, double xMax, double yMin, double yMax) =>
        (70 + minutes / xMax * 1110, 40 + (yMax - percent) / (yMax - yMin) * 540);

    private static (double L, double T, double R, double B) Box(double x, double y, double width, bool right, double dy) =>
        right ? (x + 8, y - 6 + dy, x + 8 + width, y + 10 + dy) : (x - 8 - width, y - 6 + dy, x - 8, y + 10 + dy);

    private static bool Overlap((double L, double T, double R, double B) a, (double L, double T, double R, double B) b) =>
        a.L < b.R && b.L < a.R && a.T < b.B && b.T < a.B;
}
