using static TorchSharp.torch;

namespace Fmnist.Models.Speed;

/// <summary>The patch-whitening filters of <see cref="SpeedNet"/>'s first layer, computed from images.</summary>
internal static class Whitening
{
    /// <summary>Added to every eigenvalue before the square root (as in airbench).</summary>
    public const double Epsilon = 5e-4;

    /// <summary>
    /// (2p², 1, p, p) filters from (B,1,H,W) images: the eigenvectors of the uncentered covariance of all
    /// pxp patches (stride 1, no padding), largest eigenvalue first, each divided by sqrt(eigenvalue + eps),
    /// then the same p² filters negated. A patch's response to filter i then has mean square
    /// eigenvalue / (eigenvalue + eps), about 1 for every direction the data varies in.
    /// Computed in float64.
    /// </summary>
    public static Tensor Filters(Tensor images, int patch)
    {
        using var scope = NewDisposeScope();
        var x = images.to_type(ScalarType.Float64);
        // (B,1,H,W) -> (B,1,H',W',p,p) -> (B*H'*W', p²)
        var patches = x.unfold(2, patch, 1).unfold(3, patch, 1).reshape(-1, patch * patch);
        var covariance = patches.t().matmul(patches).div_(patches.shape[0]);
        var (values, vectors) = linalg.eigh(covariance); // ascending
        values = values.flip(0);
        vectors = vectors.flip(1);
        // column i of vectors is eigenvector i: filter i = vectors[:, i] / sqrt(values[i] + eps)
        var w = vectors.t().div(values.add(Epsilon).sqrt().unsqueeze(1)).reshape(-1, 1, patch, patch);
        return cat([w, w.neg()], 0).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
