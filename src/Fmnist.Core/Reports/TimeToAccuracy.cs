using System.Globalization;
using ScottPlot;

namespace Fmnist.Reports;

/// <summary>One measured run: what it is, its wall minutes of training (an ensemble's members side by side), its test
/// accuracy (scored once), the CPU and the command that made it.</summary>
internal sealed record AccuracyPoint(string Label, double Minutes, double TestAccuracy, string Cpu, string Command);

/// <summary>A target drawn on the figure: at least <paramref name="TestAccuracy"/> within <paramref name="Minutes"/> of
/// training; the runs that met it lie above and left of its dashed corner.</summary>
internal sealed record AccuracyGoal(double Minutes, double TestAccuracy)
{
    public string Label => $"goal: {TestAccuracy * 100:0.##}% in {Minutes:0.#} min";

    /// <summary>Parses "MINUTES:PERCENT", e.g. "60:95.5".</summary>
    public static AccuracyGoal Parse(string text)
    {
        var f = text.Split(':');
        if (f.Length != 2 || !double.TryParse(f[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes) || minutes <= 0
            || !double.TryParse(f[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) || percent is <= 0 or > 100)
            throw new FmnistException($"goal '{text}': expected MINUTES:PERCENT, e.g. 60:95.5");
        return new AccuracyGoal(minutes, percent / 100);
    }
}

/// <summary>
/// The time-to-accuracy figure: test accuracy against wall minutes of training, one marker per measured run, read
/// from a CSV with the header label,minutes,test_accuracy,cpu,command (docs/results/time-to-accuracy.csv).
/// </summary>
internal static class TimeToAccuracy
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

    /// <summary>The figure as a PNG: test accuracy (%) against minutes, each run a labelled marker, each goal a dashed
    /// corner (its accuracy from the left axis to its minutes, then up) labelled at the left axis.</summary>
    public static void SavePlot(IReadOnlyList<AccuracyPoint> points, string path, IReadOnlyList<AccuracyGoal>? goals = null,
        string title = "Fashion-MNIST: test accuracy against training time")
    {
        goals ??= [];
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("wall minutes of training (2-core CPU; ensemble members side by side)");
        plot.YLabel("test accuracy (%)");
        // One colour per CPU (the part of the cpu column before any parenthesis): minutes are only comparable within one.
        var cpus = points.Select(p => CpuName(p.Cpu)).Distinct().ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var named = new HashSet<string>();
        var (xMax, yMin, yMax) = Limits(points, goals);
        foreach (var g in goals)
        {
            double y = g.TestAccuracy * 100;
            foreach (var line in new[] { plot.Add.Line(0, y, g.Minutes, y), plot.Add.Line(g.Minutes, y, g.Minutes, yMax) })
            {
                line.LinePattern = LinePattern.Dashed;
                line.LineWidth = 1.5f;
                line.Color = Colors.Gray;
            }
            AddLabel(plot, g.Label, 0, y, right: true, GoalLabelOffsetX, GoalLabelOffsetY).LabelFontColor = Colors.DimGray;
        }
        var places = PlaceLabels(points, goals);
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            string cpu = CpuName(p.Cpu);
            var marker = plot.Add.Marker(p.Minutes, p.TestAccuracy * 100);
            marker.MarkerSize = 10;
            marker.Color = palette.GetColor(cpus.IndexOf(cpu));
            if (named.Add(cpu)) marker.LegendText = cpu;
            var (right, dy) = places[i];
            AddLabel(plot, LabelOf(p), p.Minutes, p.TestAccuracy * 100, right, right ? LabelGap : -LabelGap, -LabelRise + (float)dy);
        }
        if (cpus.Count > 1) plot.ShowLegend(Alignment.LowerRight);
        plot.Axes.SetLimitsX(0, xMax);
        if (points.Count + goals.Count > 0) plot.Axes.SetLimitsY(yMin, yMax);
        Plots.SetFont(plot);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(FigureWidth, FigureHeight, ImageFormat.Png));
    }

    /// <summary>A label whose top corner (left for <paramref name="right"/>, else right) is offset in pixels from (x, y);
    /// drawn as PlaceLabels estimates it.</summary>
    static ScottPlot.Plottables.Text AddLabel(Plot plot, string label, double x, double y, bool right, float offsetX, float offsetY)
    {
        var text = plot.Add.Text(label, x, y);
        text.LabelFontSize = LabelFontSize;
        text.LabelFontName = Plots.FontFamily;
        text.LabelAlignment = right ? Alignment.UpperLeft : Alignment.UpperRight;
        text.OffsetX = offsetX;
        text.OffsetY = offsetY;
        return text;
    }

    /// <summary>"Zen 4" from "Zen 4 (bf16)": the CPU a point's minutes were measured on.</summary>
    public static string CpuName(string cpu)
    {
        int paren = cpu.IndexOf('(');
        return (paren > 0 ? cpu[..paren] : cpu).Trim();
    }

    private const int FigureWidth = 1200, FigureHeight = 640;

    static string LabelOf(AccuracyPoint p) => $"{p.Label} {p.TestAccuracy * 100:F2}%";

    // Labels, in pixels: 13 px text, about 7.4 px a character and 16 px a line; a point's label starts LabelGap beside its
    // marker with its top LabelRise above it; a goal's label just below its line, right of the axis.
    private const float LabelFontSize = 13, LabelGap = 8, LabelRise = 6, GoalLabelOffsetX = 6, GoalLabelOffsetY = 3;
    private const double CharWidth = 7.4, LineHeight = 16;

    /// <summary>The axes: x from 0 to 1.45 times the longest run or goal (room for labels), y 0.3 points beyond the runs
    /// and goals.</summary>
    static (double XMax, double YMin, double YMax) Limits(IReadOnlyList<AccuracyPoint> points, IReadOnlyList<AccuracyGoal> goals)
    {
        var minutes = points.Select(p => p.Minutes).Concat(goals.Select(g => g.Minutes)).ToList();
        var accuracies = points.Select(p => p.TestAccuracy).Concat(goals.Select(g => g.TestAccuracy)).ToList();
        return minutes.Count == 0 ? (60 * 1.45 + 1, 0, 100)
            : (minutes.Max() * 1.45 + 1, accuracies.Min() * 100 - 0.3, accuracies.Max() * 100 + 0.3);
    }

    /// <summary>
    /// Where each point's label goes: right of its marker (Dy 0), or, when that would cover a label already placed (the
    /// goals' labels first), the first free place of: left of it, one or two lines above or below on the right, the same
    /// on the left; where none is free, the place that covers the least area of other labels. Boxes are estimated in the
    /// figure's pixels (the data area inside the axes; the label sizes above): close enough to keep labels apart,
    /// as a reader sees them.
    /// </summary>
    internal static IReadOnlyList<(bool Right, double Dy)> PlaceLabels(IReadOnlyList<AccuracyPoint> points, IReadOnlyList<AccuracyGoal>? goals = null)
    {
        goals ??= [];
        var (xMax, yMin, yMax) = Limits(points, goals);
        // The data area: about 70 px of axis on the left, 20 on the right, 40 of title above, 60 of axis below.
        const double left = 70, top = 40, width = FigureWidth - 90, height = FigureHeight - 100;
        double X(double minutes) => left + minutes / xMax * width;
        double Y(double accuracy) => top + (yMax - accuracy * 100) / (yMax - yMin) * height;
        const double line = LineHeight;
        var candidates = new (bool Right, double Dy)[] { (true, 0), (false, 0), (true, -line), (true, line), (true, -2 * line), (true, 2 * line),
            (false, -line), (false, line), (false, -2 * line), (false, 2 * line) };
        var placed = goals.Select(g => (L: left + GoalLabelOffsetX, T: Y(g.TestAccuracy) + GoalLabelOffsetY,
            R: left + GoalLabelOffsetX + g.Label.Length * CharWidth, B: Y(g.TestAccuracy) + GoalLabelOffsetY + LineHeight)).ToList();
        var chosen = new List<(bool Right, double Dy)>();
        foreach (var p in points)
        {
            double x = X(p.Minutes), y = Y(p.TestAccuracy);
            double labelWidth = LabelOf(p).Length * CharWidth;
            var choice = candidates.Where(c => Inside(Box(c))).DefaultIfEmpty(candidates[0])
                .MinBy(c => placed.Sum(b => Overlap(Box(c), b)));   // MinBy keeps the first of equals: a free place in order
            chosen.Add(choice);
            placed.Add(Box(choice));

            (double L, double T, double R, double B) Box((bool Right, double Dy) c)
            {
                double l = c.Right ? x + LabelGap : x - LabelGap - labelWidth, t = y - LabelRise + c.Dy;
                return (l, t, l + labelWidth, t + LineHeight);
            }
        }
        return chosen;

        static bool Inside((double L, double T, double R, double B) box) => box.L > left - 10 && box.R < FigureWidth - 10;
        static double Overlap((double L, double T, double R, double B) a, (double L, double T, double R, double B) b) =>
            Math.Max(0, Math.Min(a.R, b.R) - Math.Max(a.L, b.L)) * Math.Max(0, Math.Min(a.B, b.B) - Math.Max(a.T, b.T));
    }
}
