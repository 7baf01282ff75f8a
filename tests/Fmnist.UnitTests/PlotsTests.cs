using Fmnist.Data;
using Fmnist.Reports;
using SkiaSharp;

namespace Fmnist.Tests;

public sealed class PlotsTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    // Setting FMNIST_TEST_PLOT_DIR keeps the figures so a person can look at them; otherwise they are temporary.
    private readonly string? _keep = Environment.GetEnvironmentVariable("FMNIST_TEST_PLOT_DIR");
    private readonly string _dir;

    public PlotsTests()
    {
        _dir = _keep ?? Path.Combine(Path.GetTempPath(), "fmnist-plots-" + Guid.NewGuid().ToString("N"));
    }

    public void Dispose()
    {
        if (_keep is null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Skips, saying why, where DejaVu Sans is not installed; under CI=true it runs and fails there.</summary>
    public sealed class FontFactAttribute : FactAttribute
    {
        public FontFactAttribute() =>
            Skip = Dependencies.SkipReason(Plots.FontFile is null ? "DejaVu Sans is not installed (apt-get install fonts-dejavu-core)" : null, Dependencies.InCi);
    }

    [FontFact]
    public void Text_is_drawn_in_DejaVu_Sans_where_its_file_is_installed()
    {
        // Without fontconfig a lookup by family name falls back to the default face (DejaVu Serif on Debian);
        // the figures must use the sans face they name.
        Assert.Equal(Plots.FontFamily, Plots.TypefaceFamily());
        using var scottPlotFace = ScottPlot.Fonts.GetTypeface(Plots.FontFamily, bold: false, italic: false);
        Assert.Equal(Plots.FontFamily, scottPlotFace.FamilyName);
    }

    [Fact]
    public void Curves_WriteATwoPanelPng_AndCreateTheFolder()
    {
        var history = Enumerable.Range(1, 12)
            .Select(e => new Fmnist.Training.EpochRecord(e, 1.2 / e + 0.2, 0.95 - 0.3 / e, 1.1 / e + 0.28, 0.91 - 0.25 / e, 1e-3, 10, 1000))
            .ToList();
        string path = Path.Combine(_dir, "nested", "curves.png");

        Plots.SaveCurves(history, path);

        AssertPng(path, 1400, 560);
    }

    [Fact]
    public void Confusion_WritesA900By800Png()
    {
        var confusion = new int[10, 10];
        var rng = new Random(7);
        for (int r = 0; r < 10; r++)
            for (int c = 0; c < 10; c++)
                confusion[r, c] = r == c ? 850 + rng.Next(140) : rng.Next(12);
        // Asymmetric on purpose: row Shirt / column T-shirt must read 131 if rows are the true class.
        confusion[6, 0] = 131;
        confusion[0, 6] = 64;
        string path = Path.Combine(_dir, "confusion.png");

        Plots.SaveConfusion(confusion, ClassNames.All, path);

        AssertPng(path, 900, 800);
        // The drawn data: the cell reading 131 sits in the Shirt row (true class, left axis) and the T-shirt/top
        // column (predicted, bottom axis); 64 the other way round.
        var plot = Plots.ConfusionPlot(confusion, ClassNames.All);
        using (plot.GetImage(900, 800)) { } // ticks are laid out when the figure renders
        var cells = plot.GetPlottables().OfType<ScottPlot.Plottables.Text>().Where(t => t.LabelText is "131" or "64").ToDictionary(t => t.LabelText, t => t.Location);
        string Row(double y) => plot.Axes.Left.TickGenerator.Ticks.Single(t => t.Position == y).Label;
        string Column(double x) => plot.Axes.Bottom.TickGenerator.Ticks.Single(t => t.Position == x).Label;
        Assert.Equal(("Shirt", "T-shirt/top"), (Row(cells["131"].Y), Column(cells["131"].X)));
        Assert.Equal(("T-shirt/top", "Shirt"), (Row(cells["64"].Y), Column(cells["64"].X)));
    }

    [Fact]
    public void Confusion_RejectsAMismatchedClassList()
    {
        Assert.Throws<ArgumentException>(() =>
            Plots.SaveConfusion(new int[10, 10], ["a", "b"], Path.Combine(_dir, "bad.png")));
        Assert.False(File.Exists(Path.Combine(_dir, "bad.png")));
    }

    [Fact]
    public void ImageGrid_HasOneCellPerImage_AndOverwritesAnOldFile()
    {
        var images = Enumerable.Range(0, 10).Select(Synthetic).ToList();
        var captions = images.Select((_, i) => $"true: {ClassNames.All[i]}\npred: {ClassNames.All[(i + 6) % 10]}").ToList();
        string path = Path.Combine(_dir, "misclassified.png");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(path, "stale");

        Plots.SaveImageGrid(images, captions, columns: 5, path);

        using var bitmap = AssertPng(path);
        Assert.True(bitmap.Width > 5 * 112 && bitmap.Height > 2 * 112, $"{bitmap.Width}x{bitmap.Height}");
    }

    [Fact]
    public void ImageGrid_RejectsAnImageOfTheWrongSize()
    {
        Assert.Throws<ArgumentException>(() =>
            Plots.SaveImageGrid([new byte[100]], ["x"], 1, Path.Combine(_dir, "bad.png")));
    }

    [Fact]
    public void PreviewByClass_HasARowPerClass()
    {
        const int n = 130;
        var images = new byte[n * 784];
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = (byte)(i % 10);
            Synthetic(i).CopyTo(images, i * 784);
        }
        string path = Path.Combine(_dir, "preview.png");

        Plots.SavePreviewByClass(images, labels, ClassNames.All, perClass: 8, path);

        using var bitmap = AssertPng(path);
        Assert.True(bitmap.Height >= 10 * 84, $"height {bitmap.Height}");
        Assert.True(bitmap.Width >= 8 * 84, $"width {bitmap.Width}");
    }

    [Fact]
    public void Lines_PlotSeveralSeriesOfDifferentLengths()
    {
        string path = Path.Combine(_dir, "sweep.png");
        Plots.SaveLines("Validation accuracy by trial", "Epoch", "Accuracy",
        [
            ("lr=1e-3", [0.80, 0.85, 0.88, 0.89, 0.90]),
            ("lr=3e-3", [0.82, 0.87, 0.89]),
            ("lr=1e-2", [0.70, 0.78, 0.81, 0.83, 0.84, 0.845]),
        ], path);

        AssertPng(path);
    }

    /// <summary>A light blob whose position and size vary with i, so tiles are tellable apart.</summary>
    private static byte[] Synthetic(int i)
    {
        var image = new byte[784];
        int cx = 10 + i % 8, cy = 12 + i % 5, r = 5 + i % 6;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                int d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                image[y * 28 + x] = d2 <= r * r ? (byte)(255 - 4 * d2 / Math.Max(1, r)) : (byte)0;
            }
        return image;
    }

    private SKBitmap AssertPng(string path, int? width = null, int? height = null)
    {
        Assert.True(File.Exists(path), path);
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 2000, $"only {bytes.Length} bytes");
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp*", SearchOption.AllDirectories));
        var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        if (width is int w) Assert.Equal(w, bitmap.Width);
        if (height is int h) Assert.Equal(h, bitmap.Height);
        return bitmap;
    }
}
