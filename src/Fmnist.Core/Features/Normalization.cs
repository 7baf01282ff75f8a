using Fmnist.Data;

namespace Fmnist.Features;

/// <summary>Pixels scaled to [0,1], then standardized with the training set's mean and std (stored with the model).</summary>
internal sealed record Normalization(double Mean, double Std)
{
    public static Normalization FromImages(ReadOnlySpan<byte> images)
    {
        double sum = 0, sumSq = 0;
        foreach (var b in images)
        {
            double v = b / 255.0;
            sum += v;
            sumSq += v * v;
        }
        double n = images.Length, mean = sum / n;
        return new Normalization(mean, Math.Sqrt(Math.Max(sumSq / n - mean * mean, 1e-12)));
    }

    public static Normalization FromImages(LabeledImages set) => FromImages(set.Images);
}
