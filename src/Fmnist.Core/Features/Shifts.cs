using Fmnist.Data;

namespace Fmnist.Features;

/// <summary>
/// Training-set expansion for KNN: each image plus copies moved one pixel up, down, left and right
/// (vacated pixels black). Fashion-MNIST items are centred only roughly, so a neighbour that is the
/// same garment one pixel off no longer looks far away.
/// </summary>
internal static class Shifts
{
    private static readonly (int Dx, int Dy)[] Moves = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)];

    /// <summary>Order: all originals, then all right-shifted, left, down, up copies (index = copy * n + i).</summary>
    public static LabeledImages Expand(LabeledImages set)
    {
        int n = set.Count, side = ImageShape.Side;
        var images = new byte[Moves.Length * set.Images.Length];
        var labels = new byte[Moves.Length * n];
        for (int m = 0; m < Moves.Length; m++)
        {
            var (dx, dy) = Moves[m];
            set.Labels.CopyTo(labels, m * n);
            for (int i = 0; i < n; i++)
            {
                var src = set.Image(i);
                var dst = images.AsSpan((m * n + i) * ImageShape.Pixels, ImageShape.Pixels);
                for (int y = 0; y < side; y++)
                {
                    int sy = y - dy;
                    if (sy < 0 || sy >= side) continue;
                    for (int x = 0; x < side; x++)
                    {
                        int sx = x - dx;
                        if (sx >= 0 && sx < side) dst[y * side + x] = src[sy * side + sx];
                    }
                }
            }
        }
        return new LabeledImages(images, labels);
    }
}
