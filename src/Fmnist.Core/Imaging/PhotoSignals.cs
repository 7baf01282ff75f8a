using Fmnist.Data;

namespace Fmnist.Imaging;

/// <summary>A photo prepared for the model: its name, the 28x28 image the model sees, and what the preparation measured.</summary>
internal sealed record Photo(string Name, byte[] Pixels, PhotoSignals Signals);

/// <summary>
/// What the preparation of a photo measured, before the model sees it. Fashion-MNIST images are one garment on a
/// plain background; a photo that is blank, busy at its edges, or made of many separate shapes is none of that,
/// whatever the network answers.
/// </summary>
/// <param name="Contrast">How far the object stands out from the background: the 99th percentile of the distance
/// from the background level (0-255), over small blocks so noise averages out. A blank photo is near 0.</param>
/// <param name="BorderClutter">The share of the photo's border pixels that differ from the border's median by more
/// than <see cref="EdgeTolerance"/> levels (0-1): 0 for a plain backdrop, high for a scene.</param>
/// <param name="LargestShapeShare">The share of the 28x28 image's ink in its largest connected shape (0-1): near 1
/// for a garment, low for text, noise or scattered shapes.</param>
internal sealed record PhotoSignals(double Contrast, double BorderClutter, double LargestShapeShare)
{
    /// <summary>Grey levels a backdrop pixel may differ from the backdrop's median (shadows, JPEG noise).</summary>
    public const int EdgeTolerance = 40;

    /// <summary>The grey level (of 255) from which a pixel of the 28x28 image counts as ink.</summary>
    public const int InkLevel = 48;

    /// <summary>The signals of an image that is already 28x28 and light on black (a dataset image).</summary>
    public static PhotoSignals OfDatasetImage(ReadOnlySpan<byte> image)
    {
        var histogram = new long[256];
        long count = 0;
        for (int y = 0; y < ImageShape.Side; y++)
            for (int x = 0; x < ImageShape.Side; x++)
                if (y == 0 || x == 0 || y == ImageShape.Side - 1 || x == ImageShape.Side - 1) { histogram[image[y * ImageShape.Side + x]]++; count++; }
        long seen = 0;
        int median = 0;
        while (median < 255 && (seen += histogram[median]) * 2 < count) median++;
        return new(MeasureContrast(image.ToArray(), ImageShape.Side, ImageShape.Side), Clutter(histogram, median, count), MeasureShapeShare(image));
    }

    internal static double Clutter(long[] borderHistogram, int median, long count)
    {
        if (count == 0) return 0;
        long off = 0;
        for (int v = 0; v < 256; v++)
            if (Math.Abs(v - median) > EdgeTolerance) off += borderHistogram[v];
        return (double)off / count;
    }

    /// <summary>The 99th percentile of a background-subtracted image averaged over blocks of about 1/64 of its
    /// shorter side: sensor noise averages out in a block, a faint garment does not.</summary>
    internal static double MeasureContrast(byte[] subtracted, int width, int height)
    {
        int block = Math.Max(1, Math.Min(width, height) / 64);
        int bw = width / block, bh = height / block;
        if (bw == 0 || bh == 0) return 0;
        var histogram = new long[256];
        for (int by = 0; by < bh; by++)
        {
            for (int bx = 0; bx < bw; bx++)
            {
                long sum = 0;
                for (int y = by * block; y < (by + 1) * block; y++)
                    for (int x = bx * block; x < (bx + 1) * block; x++) sum += subtracted[y * width + x];
                histogram[sum / (block * block)]++;
            }
        }
        long above = 0, limit = (long)bw * bh / 100;
        int level = 255;
        while (level > 0 && (above += histogram[level]) <= limit) level--;
        return level;
    }

    /// <summary>Share of the ink (pixels at or above <see cref="InkLevel"/>, weighted by value) in the largest 8-connected shape.</summary>
    internal static double MeasureShapeShare(ReadOnlySpan<byte> image)
    {
        int n = ImageShape.Pixels, side = ImageShape.Side;
        var label = new int[n];
        var stack = new int[n];
        long total = 0, largest = 0;
        int next = 0;
        for (int start = 0; start < n; start++)
        {
            if (image[start] < InkLevel || label[start] != 0) continue;
            long mass = 0;
            int top = 0;
            stack[top++] = start;
            label[start] = ++next;
            while (top > 0)
            {
                int p = stack[--top];
                mass += image[p];
                int py = p / side, px = p % side;
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int y = py + dy, x = px + dx;
                        if (y < 0 || x < 0 || y >= side || x >= side) continue;
                        int q = y * side + x;
                        if (image[q] < InkLevel || label[q] != 0) continue;
                        label[q] = next;
                        stack[top++] = q;
                    }
                }
            }
            total += mass;
            largest = Math.Max(largest, mass);
        }
        return total == 0 ? 0 : (double)largest / total;
    }
}
