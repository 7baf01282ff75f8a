namespace Fmnist.Experiments;

/// <summary>The figures the seed report published (Keras/NumPy, test accuracy), for side-by-side tables; its
/// CNN+LSTM hyperparameter table is <see cref="Models.CnnLstm.SeedTable"/>.</summary>
internal static class SeedReference
{
    public static readonly IReadOnlyDictionary<int, double> KnnAccuracy = new Dictionary<int, double>
    {
        [1] = 0.7848, [4] = 0.7893, [9] = 0.7938, [20] = 0.7829, [50] = 0.7664, [100] = 0.7518,
    };

    public sealed record BenchmarkRow(string Method, string Preprocessing, double Accuracy);

    /// <summary>The published rows the seed compared against (from the Fashion-MNIST benchmark list).</summary>
    public static readonly IReadOnlyList<BenchmarkRow> Published =
    [
        new("2 Conv+pooling+LSTM+2 dense (seed, Keras)", "Normalization, random shear, flip, translation, zoom", 0.9356),
        new("2 Conv", "None", 0.925),
        new("2 Conv", "Normalization", 0.922),
        new("2 Conv+pooling+ELU activation", "None", 0.903),
        new("3 Conv+pooling+BN", "None", 0.903),
        new("2 Conv", "Normalization, random horizontal/vertical flip, translation, rotation", 0.919),
        new("KNN, K=9 (seed)", "Binarization", 0.7938),
    ];

    public static double? Knn(int k) => KnnAccuracy.TryGetValue(k, out var a) ? a : null;
}
