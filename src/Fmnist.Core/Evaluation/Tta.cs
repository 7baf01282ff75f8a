using static TorchSharp.torch;

namespace Fmnist.Evaluation;

/// <summary>Test-time augmentation: the views of each image whose softmax outputs are averaged.
/// none: the image; flip: it and its mirror; shift: it and its four one-pixel shifts (left, right, up,
/// down; the vacated row or column is background); flip-shift: those five and their mirrors; flip-diagonal:
/// the image, its eight one-pixel neighbours (the four shifts and the four diagonal ones) and their mirrors;
/// flip-shift2: the image, its one- and two-pixel shifts along each axis and their mirrors.</summary>
public enum TtaMode
{
    /// <summary>The image alone.</summary>
    None,
    /// <summary>The image and its mirror.</summary>
    Flip,
    /// <summary>The image and its four one-pixel shifts.</summary>
    Shift,
    /// <summary>The image, its four one-pixel shifts, and the mirrors of those five.</summary>
    FlipShift,
    /// <summary>The image, its eight one-pixel neighbours, and their mirrors.</summary>
    FlipDiagonal,
    /// <summary>The image, its one- and two-pixel shifts along each axis, and their mirrors.</summary>
    FlipShift2,
}

/// <summary>One view: mirrored or not, then shifted by (Dx, Dy) pixels (positive: right, down).</summary>
internal readonly record struct TtaView(bool Flip, int Dx, int Dy);

internal static class Tta
{
    public static readonly IReadOnlyList<string> Names = ["none", "flip", "shift", "flip-shift", "flip-diagonal", "flip-shift2"];

    public static string Name(TtaMode m) => Names[(int)m];

    public static TtaMode Parse(string text) => text.ToLowerInvariant() switch
    {
        "none" or "off" => TtaMode.None,
        "flip" => TtaMode.Flip,
        "shift" => TtaMode.Shift,
        "flip-shift" or "flipshift" or "flip_shift" => TtaMode.FlipShift,
        "flip-diagonal" => TtaMode.FlipDiagonal,
        "flip-shift2" => TtaMode.FlipShift2,
        _ => throw new FmnistException($"unknown test-time augmentation '{text}' (known: {string.Join(", ", Names)})"),
    };

    private static readonly TtaView[] Shifts = [new(false, 0, 0), new(false, -1, 0), new(false, 1, 0), new(false, 0, -1), new(false, 0, 1)];
    private static readonly TtaView[] Neighbours = [.. Shifts, new(false, -1, -1), new(false, 1, -1), new(false, -1, 1), new(false, 1, 1)];
    private static readonly TtaView[] Shifts2 = [.. Shifts, new(false, -2, 0), new(false, 2, 0), new(false, 0, -2), new(false, 0, 2)];

    private static TtaView[] WithMirrors(TtaView[] views) => [.. views, .. views.Select(v => v with { Flip = true })];

    /// <summary>The views of a mode, the plain image first.</summary>
    public static IReadOnlyList<TtaView> Views(TtaMode mode) => mode switch
    {
        TtaMode.Flip => [new(false, 0, 0), new(true, 0, 0)],
        TtaMode.Shift => Shifts,
        TtaMode.FlipShift => WithMirrors(Shifts),
        TtaMode.FlipDiagonal => WithMirrors(Neighbours),
        TtaMode.FlipShift2 => WithMirrors(Shifts2),
        _ => [new(false, 0, 0)],
    };

    /// <summary>The view of a batch (B,C,H,W) of pixel values whose background is 0 (raw or scaled, before
    /// standardization): mirrored left-right, then moved by (Dx, Dy) with zeros shifted in.</summary>
    public static Tensor Apply(Tensor x, TtaView v)
    {
        if (v.Flip) x = x.flip(3);
        if (v.Dx == 0 && v.Dy == 0) return v.Flip ? x : x.alias();
        long h = x.shape[2], w = x.shape[3];
        // pad (left, right, top, bottom) by |shift| on the side the image moves away from, then cut H x W
        var padded = nn.functional.pad(x, [Math.Max(v.Dx, 0), Math.Max(-v.Dx, 0), Math.Max(v.Dy, 0), Math.Max(-v.Dy, 0)]);
        return padded.narrow(2, Math.Max(-v.Dy, 0), h).narrow(3, Math.Max(-v.Dx, 0), w);
    }

    /// <summary>The same view on raw row-major 28x28 images in managed memory (ONNX Runtime's input).</summary>
    public static void Apply(ReadOnlySpan<float> images, Span<float> into, TtaView v)
    {
        const int side = Data.ImageShape.Side, pixels = side * side;
        for (int img = 0; img < images.Length / pixels; img++)
        {
            var src = images.Slice(img * pixels, pixels);
            var dst = into.Slice(img * pixels, pixels);
            for (int row = 0; row < side; row++)
                for (int col = 0; col < side; col++)
                {
                    // the view's pixel (row, col) comes from (row - Dy, col - Dx) of the mirrored image
                    int r = row - v.Dy, c = col - v.Dx;
                    if (v.Flip) c = side - 1 - c;
                    dst[row * side + col] = r is >= 0 and < side && c is >= 0 and < side ? src[r * side + c] : 0;
                }
        }
    }
}
