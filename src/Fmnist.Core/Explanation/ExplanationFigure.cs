using Fmnist.Data;
using Fmnist.Reports;
using SkiaSharp;

namespace Fmnist.Explanations;

/// <summary>
/// One PNG per explanation: the image the model saw, the occlusion map over it (and Grad-CAM where there is
/// one), each with a colour bar, the top classes, and the nearest training images with their classes.
/// </summary>
internal static class ExplanationFigure
{
    private const int Scale = 8, Panel = ImageShape.Side * Scale, Margin = 24, Gap = 28, TopColumn = 250;
    private const int TileScale = 3, Tile = ImageShape.Side * TileScale, TileCell = 112;

    // A diverging red-blue pair (ColorBrewer RdBu ends): red where the pixels speak for the class, blue against.
    private static readonly SKColor For = new(202, 0, 32), Against = new(5, 113, 176);

    /// <summary>Draws <paramref name="e"/> into <paramref name="path"/> (written atomically). <paramref name="title"/> heads it (the photo's name).</summary>
    public static void Save(Explanation e, string title, string path) => AtomicFile.WriteAllBytes(path, Render(e, title));

    /// <summary>The figure as PNG bytes.</summary>
    public static byte[] Render(Explanation e, string title)
    {
        int panels = e.GradCam is null ? 2 : 3;
        int width = Math.Max(2 * Margin + panels * Panel + panels * Gap + TopColumn, 2 * Margin + Math.Max(1, e.Neighbours.Count) * TileCell);
        int panelTop = 96, barTop = panelTop + Panel + 8, neighboursTop = barTop + 78;
        int height = e.Neighbours.Count == 0 ? neighboursTop : neighboursTop + 30 + Tile + 48;
        using var surface = Plots.NewSurface(width, height);
        var canvas = surface.Canvas;
        using var typeface = Plots.Typeface();
        using var titleFont = new SKFont(typeface, 18);
        using var font = new SKFont(typeface, 14);
        using var small = new SKFont(typeface, 12);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var muted = new SKPaint { Color = new SKColor(80, 86, 98), IsAntialias = true };

        canvas.DrawText(Fit(title, titleFont, width - 2 * Margin), Margin, 30, SKTextAlign.Left, titleFont, ink);
        canvas.DrawText($"Predicted {e.Class} ({e.Top[0].Probability:P1}); red: pixels that speak for it, blue: against it",
            Margin, 52, SKTextAlign.Left, font, muted);

        float x = Margin;
        canvas.DrawText("What the model saw (28x28)", x, panelTop - 8, SKTextAlign.Left, font, ink);
        Plots.DrawTile(canvas, e.Image, x, panelTop, Scale);

        x += Panel + Gap;
        float occlusionScale = MaxAbs(e.Occlusion);
        canvas.DrawText($"Occlusion: fall in P({e.Class})", x, panelTop - 8, SKTextAlign.Left, font, ink);
        DrawOverlay(canvas, e.Image, e.Occlusion, occlusionScale, x, panelTop);
        DrawColourBar(canvas, x, barTop, -occlusionScale, occlusionScale, small, ink, signed: true);
        canvas.DrawText($"P lost when a {e.Settings.Patch}x{e.Settings.Patch} square", x, barTop + 48, SKTextAlign.Left, small, muted);
        canvas.DrawText("over the pixel is blacked out (mean)", x, barTop + 63, SKTextAlign.Left, small, muted);

        if (e.GradCam is { } cam)
        {
            x += Panel + Gap;
            canvas.DrawText("Grad-CAM (last conv layer)", x, panelTop - 8, SKTextAlign.Left, font, ink);
            DrawOverlay(canvas, e.Image, cam, 1, x, panelTop);
            DrawColourBar(canvas, x, barTop, 0, 1, small, ink, signed: false);
            canvas.DrawText("relative: 1 = the strongest evidence", x, barTop + 48, SKTextAlign.Left, small, muted);
        }

        DrawTop(canvas, e.Top, x + Panel + Gap, panelTop, font, ink);
        if (e.Neighbours.Count > 0) DrawNeighbours(canvas, e, neighboursTop, font, small, ink, muted);
        return Plots.EncodePng(surface);
    }

    /// <summary>Each pixel's grey blended with red (positive) or blue (negative), opacity growing with |value| / scale.</summary>
    private static void DrawOverlay(SKCanvas canvas, byte[] image, float[] map, float scale, float x, float y)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(ImageShape.Side, ImageShape.Side, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (int p = 0; p < ImageShape.Pixels; p++)
            bitmap.SetPixel(p % ImageShape.Side, p / ImageShape.Side, Blend(image[p], scale > 0 ? map[p] / scale : 0));
        using var tile = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(tile, SKRect.Create(x, y, Panel, Panel), new SKSamplingOptions(SKFilterMode.Nearest));
    }

    /// <summary>t in [-1, 1]: the grey shows through where t is near 0, so the map never hides the garment entirely.</summary>
    private static SKColor Blend(byte grey, float t)
    {
        t = Math.Clamp(t, -1, 1);
        var c = t >= 0 ? For : Against;
        float a = 0.85f * MathF.Abs(t);
        byte Mix(byte colour) => (byte)Math.Round(grey * (1 - a) + colour * a);
        return new SKColor(Mix(c.Red), Mix(c.Green), Mix(c.Blue));
    }

    private static void DrawColourBar(SKCanvas canvas, float x, float y, float low, float high, SKFont font, SKPaint ink, bool signed)
    {
        const int steps = 112, h = 12;
        float w = (float)Panel / steps;
        using var fill = new SKPaint();
        for (int i = 0; i < steps; i++)
        {
            float t = signed ? -1 + 2f * (i + 0.5f) / steps : (i + 0.5f) / steps;
            fill.Color = Blend(255, t); // over white, as the colours look over the brightest part of the garment
            canvas.DrawRect(x + i * w, y, w + 0.5f, h, fill);
        }
        using var frame = new SKPaint { Color = SKColors.Gray, Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(x, y, Panel, h, frame);
        float baseline = y + h + 16;
        canvas.DrawText(Number(low, signed), x, baseline, SKTextAlign.Left, font, ink);
        if (signed) canvas.DrawText("0", x + Panel / 2f, baseline, SKTextAlign.Center, font, ink);
        canvas.DrawText(Number(high, signed), x + Panel, baseline, SKTextAlign.Right, font, ink);
    }

    private static string Number(float v, bool signed) =>
        signed ? (v > 0 ? "+" : v < 0 ? "\u2212" : "") + Math.Abs(v).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)
            : v.ToString("0", System.Globalization.CultureInfo.InvariantCulture);

    private static void DrawTop(SKCanvas canvas, IReadOnlyList<ClassScore> top, float x, float y, SKFont font, SKPaint ink)
    {
        canvas.DrawText($"Top {top.Count}", x, y - 8, SKTextAlign.Left, font, ink);
        using var track = new SKPaint { Color = new SKColor(217, 227, 245) };
        using var bar = new SKPaint { Color = new SKColor(31, 95, 191) };
        const float barWidth = TopColumn - 30;
        for (int i = 0; i < top.Count; i++)
        {
            float row = y + 14 + i * 48;
            canvas.DrawText($"{i + 1}. {top[i].Class}", x, row, SKTextAlign.Left, font, ink);
            canvas.DrawText(top[i].Probability.ToString("P1", System.Globalization.CultureInfo.InvariantCulture), x + barWidth, row, SKTextAlign.Right, font, ink);
            canvas.DrawRect(x, row + 7, barWidth, 9, track);
            canvas.DrawRect(x, row + 7, barWidth * (float)Math.Clamp(top[i].Probability, 0, 1), 9, bar);
        }
    }

    private static void DrawNeighbours(SKCanvas canvas, Explanation e, float y, SKFont font, SKFont small, SKPaint ink, SKPaint muted)
    {
        canvas.DrawText("Nearest training images (Hamming distance between the images binarized at pixel > 127)", Margin, y + 16, SKTextAlign.Left, font, ink);
        float top = y + 30;
        for (int i = 0; i < e.Neighbours.Count; i++)
        {
            var n = e.Neighbours[i];
            float cell = Margin + i * TileCell, centre = cell + Tile / 2f;
            Plots.DrawTile(canvas, n.Image, cell, top, TileScale);
            canvas.DrawText(Fit(n.Class, small, TileCell - 6), centre, top + Tile + 16, SKTextAlign.Center, small, n.Label == e.Label ? ink : muted);
            canvas.DrawText($"#{n.Index}, d={n.Distance}", centre, top + Tile + 32, SKTextAlign.Center, small, muted);
        }
    }

    private static float MaxAbs(float[] map)
    {
        float m = 0;
        foreach (float v in map) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static string Fit(string text, SKFont font, float width)
    {
        if (font.MeasureText(text) <= width) return text;
        while (text.Length > 1 && font.MeasureText(text + "\u2026") > width) text = text[..^1];
        return text + "\u2026";
    }
}
