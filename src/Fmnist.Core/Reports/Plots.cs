using ScottPlot;
using Fmnist.Data;
using Fmnist.Training;
using SkiaSharp;

namespace Fmnist.Reports;

/// <summary>
/// PNG figures for reports. Charts go through ScottPlot; image grids are drawn with SkiaSharp directly
/// because they are just tiles and captions. Every file is written atomically, so a reader never sees
/// a half-written PNG even if the process dies mid-write.
/// </summary>
internal static class Plots
{
    /// <summary>Named explicitly: on a bare Linux box the default lookup resolves to a serif face.</summary>
    public const string FontFamily = "DejaVu Sans";

    /// <summary>Where Debian's fonts-dejavu-core puts the face. SkiaSharp's NoDependencies build has no fontconfig,
    /// so looking the family up by name falls back to the default (serif) face; a face loaded from its file does
    /// not, and ScottPlot uses a file registered under the family name.</summary>
    private const string FontDirectory = "/usr/share/fonts/truetype/dejavu";

    /// <summary>DejaVuSans.ttf where it is installed, else null.</summary>
    internal static readonly string? FontFile = Installed(Path.Combine(FontDirectory, "DejaVuSans.ttf"));

    private static string? Installed(string path) => File.Exists(path) ? path : null;

    static Plots()
    {
        if (FontFile is null) return;
        ScottPlot.Fonts.AddFontFile(FontFamily, FontFile, bold: false, italic: false);
        if (Installed(Path.Combine(FontDirectory, "DejaVuSans-Bold.ttf")) is { } bold)
            ScottPlot.Fonts.AddFontFile(FontFamily, bold, bold: true, italic: false);
    }

    /// <summary>The family the tiles and captions are drawn in: "DejaVu Sans" where its file is installed.</summary>
    public static string TypefaceFamily()
    {
        using var typeface = Typeface();
        return typeface.FamilyName;
    }

    public static void SaveCurves(IReadOnlyList<EpochRecord> history, string path)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) throw new ArgumentException("the training history is empty", nameof(history));

        double[] epochs = [.. history.Select(p => (double)p.Epoch)];
        Plot accuracy = NewPlot("Accuracy per epoch", "Epoch", "Accuracy");
        AddLine(accuracy, epochs, [.. history.Select(p => p.TrainAccuracy)], "train");
        if (history.All(p => p.ValAccuracy is not null))
            AddLine(accuracy, epochs, [.. history.Select(p => p.ValAccuracy!.Value)], "validation");
        // Accuracy climbs towards the top right, so the legend goes where the curves are not.
        accuracy.ShowLegend(Alignment.LowerRight);

        Plot loss = NewPlot("Loss per epoch", "Epoch", "Loss");
        AddLine(loss, epochs, [.. history.Select(p => p.TrainLoss)], "train");
        if (history.All(p => p.ValLoss is not null))
            AddLine(loss, epochs, [.. history.Select(p => p.ValLoss!.Value)], "validation");

        var figure = new Multiplot(accuracy);
        figure.AddPlot(loss);
        figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
        using var image = figure.Render(1400, 560);
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
    }

    public static void SaveLines(
        string title, string xLabel, string yLabel,
        IReadOnlyList<(string Label, IReadOnlyList<double> Ys)> series, string path)
    {
        ArgumentNullException.ThrowIfNull(series);
        Plot plot = NewPlot(title, xLabel, yLabel);
        foreach (var (label, ys) in series)
        {
            if (ys.Count == 0) continue;
            double[] xs = [.. Enumerable.Range(1, ys.Count).Select(i => (double)i)];
            AddLine(plot, xs, [.. ys], label);
        }
        // Many series end near the same values: a legend inside the axes would hide them.
        plot.ShowLegend(Edge.Right);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1200, 620, ImageFormat.Png));
    }

    public static void SaveConfusion(int[,] confusion, IReadOnlyList<string> classNames, string path) =>
        AtomicFile.WriteAllBytes(path, ConfusionPlot(confusion, classNames).GetImageBytes(900, 800, ImageFormat.Png));

    /// <summary>The confusion figure before rendering: tests read its cells and ticks to check the orientation.</summary>
    internal static Plot ConfusionPlot(int[,] confusion, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        ArgumentNullException.ThrowIfNull(classNames);
        int n = confusion.GetLength(0);
        if (n == 0 || confusion.GetLength(1) != n || classNames.Count != n)
            throw new ArgumentException(
                $"confusion matrix is {confusion.GetLength(0)}x{confusion.GetLength(1)} but there are {classNames.Count} class names",
                nameof(confusion));

        // Colour by the share of each true class rather than raw counts: with ~1000 test images per class
        // the diagonal would otherwise flatten every off-diagonal mistake into the same pale colour.
        var share = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            long rowTotal = 0;
            for (int c = 0; c < n; c++) rowTotal += confusion[r, c];
            for (int c = 0; c < n; c++) share[r, c] = rowTotal == 0 ? 0 : (double)confusion[r, c] / rowTotal;
        }

        Plot plot = NewPlot("Confusion matrix (test)", "Predicted class", "True class");
        var heatmap = plot.Add.Heatmap(share);
        // ScottPlot's Blues runs dark to white; reversed, an empty cell is white and a full one deep blue.
        heatmap.Colormap = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues());
        heatmap.ManualRange = new ScottPlot.Range(0, 1);

        // Heatmap row 0 is drawn at the top, at y = n - 1; cell centres sit on integer coordinates.
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                var text = plot.Add.Text(confusion[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, n - 1 - r);
                text.LabelFontName = FontFamily;
                text.LabelFontSize = 14;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelBold = r == c;
                // Dark cells get white text; the threshold is where Blues crosses mid-grey.
                text.LabelFontColor = share[r, c] > 0.45 ? Colors.White : Colors.Black;
            }
        }

        double[] positions = [.. Enumerable.Range(0, n).Select(i => (double)i)];
        plot.Axes.Bottom.SetTicks(positions, [.. classNames]);
        plot.Axes.Left.SetTicks([.. positions.Reverse()], [.. classNames]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -40;
        // Anchored at the top right so the slanted name hangs below its tick instead of crossing the frame.
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
        // ScottPlot sizes the axis for unrotated labels; reserve room for the slanted ones.
        plot.Axes.Bottom.MinimumSize = 110;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.HideGrid();
        SetFont(plot);
        return plot;
    }

    public static void SaveImageGrid(
        IReadOnlyList<byte[]> images28x28, IReadOnlyList<string> captions, int columns, string path)
    {
        ArgumentNullException.ThrowIfNull(images28x28);
        ArgumentNullException.ThrowIfNull(captions);
        if (captions.Count != images28x28.Count)
            throw new ArgumentException($"{images28x28.Count} images but {captions.Count} captions", nameof(captions));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "must be at least 1");
        foreach (byte[] image in images28x28) CheckImage(image);

        const int scale = 4, pad = 18, lineGap = 3;
        using var typeface = Typeface();
        using var font = new SKFont(typeface, 14);
        string[][] lines = [.. captions.Select(c => c.Split('\n'))];
        int lineCount = Math.Max(1, lines.Length == 0 ? 1 : lines.Max(l => l.Length));
        float widest = lines.SelectMany(l => l).Select(s => font.MeasureText(s)).DefaultIfEmpty(0).Max();
        // Cells widen to the longest caption so "pred: T-shirt/top" never runs into its neighbour.
        int cellW = Math.Max(ImageShape.Side * scale, (int)Math.Ceiling(widest)) + pad;
        float lineH = font.Spacing + lineGap;
        int cellH = ImageShape.Side * scale + 6 + (int)Math.Ceiling(lineCount * lineH) + pad;
        int cols = Math.Max(1, Math.Min(columns, images28x28.Count));
        int rows = Math.Max(1, (images28x28.Count + cols - 1) / cols);

        using var surface = NewSurface(pad + cols * cellW, pad + rows * cellH);
        SKCanvas canvas = surface.Canvas;
        using var textPaint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (int i = 0; i < images28x28.Count; i++)
        {
            float x = pad + (i % cols) * cellW, y = pad + (i / cols) * cellH;
            float tileX = x + (cellW - pad - ImageShape.Side * scale) / 2f;
            DrawTile(canvas, images28x28[i], tileX, y, scale);
            float baseline = y + ImageShape.Side * scale + 6 - font.Metrics.Ascent;
            foreach (string line in lines[i])
            {
                canvas.DrawText(line, x + (cellW - pad) / 2f, baseline, SKTextAlign.Center, font, textPaint);
                baseline += lineH;
            }
        }
        AtomicFile.WriteAllBytes(path, EncodePng(surface));
    }

    public static void SavePreviewByClass(
        ReadOnlySpan<byte> images, ReadOnlySpan<byte> labels, IReadOnlyList<string> classNames, int perClass, string path)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (images.Length != labels.Length * ImageShape.Pixels)
            throw new ArgumentException($"{images.Length} image bytes do not match {labels.Length} labels of {ImageShape.Pixels} pixels each", nameof(images));
        if (perClass < 1) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "must be at least 1");

        // Pick the first perClass examples of each class in one pass; a class with fewer leaves blanks.
        var picks = new List<int>[classNames.Count];
        for (int k = 0; k < picks.Length; k++) picks[k] = new List<int>(perClass);
        int missing = picks.Length;
        for (int i = 0; i < labels.Length && missing > 0; i++)
        {
            int label = labels[i];
            if (label >= picks.Length || picks[label].Count == perClass) continue;
            picks[label].Add(i);
            if (picks[label].Count == perClass) missing--;
        }

        const int scale = 3, gap = 4, pad = 12;
        using var typeface = Typeface();
        using var font = new SKFont(typeface, 16);
        float labelW = classNames.Select(n => font.MeasureText(n)).DefaultIfEmpty(0).Max() + 16;
        int tile = ImageShape.Side * scale;
        int width = pad + (int)Math.Ceiling(labelW) + perClass * (tile + gap) - gap + pad;
        int height = pad + classNames.Count * (tile + gap) - gap + pad;

        using var surface = NewSurface(width, Math.Max(height, 2 * pad));
        SKCanvas canvas = surface.Canvas;
        using var textPaint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var buffer = new byte[ImageShape.Pixels];
        for (int k = 0; k < classNames.Count; k++)
        {
            float y = pad + k * (tile + gap);
            float baseline = y + tile / 2f - (font.Metrics.Ascent + font.Metrics.Descent) / 2f;
            canvas.DrawText(classNames[k], pad, baseline, SKTextAlign.Left, font, textPaint);
            for (int j = 0; j < picks[k].Count; j++)
            {
                images.Slice(picks[k][j] * ImageShape.Pixels, ImageShape.Pixels).CopyTo(buffer);
                DrawTile(canvas, buffer, pad + labelW + j * (tile + gap), y, scale);
            }
        }
        AtomicFile.WriteAllBytes(path, EncodePng(surface));
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        SetFont(plot);
        return plot;
    }

    /// <summary>Every text of the plot in <see cref="FontFamily"/> (registering its file on first use).</summary>
    internal static void SetFont(Plot plot)
    {
        // Called again after ticks or text are added, since the styler only touches what exists.
        plot.Font.Set(FontFamily);
        plot.Legend.FontName = FontFamily;
    }

    private static void AddLine(Plot plot, double[] xs, double[] ys, string label)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = xs.Length > 40 ? 0 : 6;
        plot.ShowLegend(Alignment.UpperRight);
        plot.Legend.FontName = FontFamily;
        // Epochs are whole numbers; with a handful of them the default ticks would show 1.5, 2.5 ...
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
    }

    internal static SKTypeface Typeface() =>
        (FontFile is not null ? SKTypeface.FromFile(FontFile) : null) ?? SKTypeface.FromFamilyName(FontFamily) ?? SKTypeface.Default;

    internal static SKSurface NewSurface(int width, int height)
    {
        var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"cannot allocate a {width}x{height} drawing surface");
        surface.Canvas.Clear(SKColors.White);
        return surface;
    }

    internal static void DrawTile(SKCanvas canvas, byte[] image, float x, float y, int scale)
    {
        using var tile = SKImage.FromPixelCopy(new SKImageInfo(ImageShape.Side, ImageShape.Side, SKColorType.Gray8, SKAlphaType.Opaque), image);
        // Nearest neighbour keeps the 28x28 pixels crisp instead of smearing them into a blur.
        canvas.DrawImage(tile, SKRect.Create(x, y, ImageShape.Side * scale, ImageShape.Side * scale), new SKSamplingOptions(SKFilterMode.Nearest));
    }

    private static void CheckImage(byte[] image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Length != ImageShape.Pixels)
            throw new ArgumentException($"an image has {image.Length} bytes, expected {ImageShape.Pixels} (28x28)", nameof(image));
    }

    internal static byte[] EncodePng(SKSurface surface)
    {
        using SKImage snapshot = surface.Snapshot();
        using SKData data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
