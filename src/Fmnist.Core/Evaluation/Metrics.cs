using Fmnist.Data;

namespace Fmnist.Evaluation;

/// <summary>One class's precision, recall and F1, and its number of images (support).</summary>
public sealed record ClassMetrics(string Class, double Precision, double Recall, double F1, int Support);

/// <summary>Accuracy, the confusion matrix (rows = true class, columns = predicted) and per-class scores.</summary>
public sealed record Metrics(double Accuracy, int[,] Confusion, IReadOnlyList<ClassMetrics> PerClass)
{
    /// <summary>The metrics of <paramref name="predicted"/> labels against the <paramref name="actual"/> ones.</summary>
    public static Metrics From(ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> actual)
    {
        if (predicted.Length != actual.Length) throw new ArgumentException("predictions and labels differ in length");
        int k = ClassNames.Count;
        var confusion = new int[k, k];
        int correct = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            confusion[actual[i], predicted[i]]++;
            if (actual[i] == predicted[i]) correct++;
        }
        var perClass = new List<ClassMetrics>();
        for (int c = 0; c < k; c++)
        {
            int tp = confusion[c, c], predictedC = 0, actualC = 0;
            for (int j = 0; j < k; j++) { predictedC += confusion[j, c]; actualC += confusion[c, j]; }
            double precision = predictedC == 0 ? 0 : (double)tp / predictedC;
            double recall = actualC == 0 ? 0 : (double)tp / actualC;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassMetrics(ClassNames.All[c], precision, recall, f1, actualC));
        }
        return new Metrics(actual.Length == 0 ? 0 : (double)correct / actual.Length, confusion, perClass);
    }

    /// <summary>The confusion matrix as rows (true class) of counts per predicted class, for JSON.</summary>
    public int[][] ConfusionRows() =>
        Enumerable.Range(0, Confusion.GetLength(0)).Select(r => Enumerable.Range(0, Confusion.GetLength(1)).Select(c => Confusion[r, c]).ToArray()).ToArray();
}
