namespace Fmnist.Training.Levers;

/// <summary>
/// InfoBatch (Qin et al., arXiv 2303.04947): each epoch, of the images whose last recorded loss is below the
/// mean of the recorded losses, a share r is left out at random, and the kept ones among them weigh 1/(1-r)
/// in the loss, so the expected gradient of the epoch is unchanged while it takes fewer steps. Images never
/// scored yet (the first epoch) are all kept; the last epochs (annealing, after <see cref="AnnealFrom"/>) use
/// every image unweighted, so that the end of training sees the plain objective.
/// </summary>
internal sealed class LossPruning
{
    /// <summary>InfoBatch's delta: pruning stops after this share of the epochs.</summary>
    public const double AnnealFrom = 0.875;

    private readonly double _ratio;

    public LossPruning(long count, double ratio)
    {
        _ratio = ratio;
        Losses = new float[count];
        Array.Fill(Losses, float.NaN); // NaN: not scored yet
    }

    /// <summary>Each image's last recorded loss, NaN before its first; saved in the checkpoint.</summary>
    public float[] Losses { get; }

    /// <summary>True for the epochs (1-based) that prune: all but the last ceil(12.5%) of them, so that at
    /// least the last epoch always sees every image (12 epochs: 1-10 prune, 11-12 do not).</summary>
    public static bool Prunes(int epoch, int epochs) => epoch <= epochs - (int)Math.Ceiling((1 - AnnealFrom) * epochs - 1e-9);

    /// <summary>The images of this epoch, in <paramref name="order"/>'s order, and the loss weight of each.</summary>
    public (long[] Kept, float[] Weights) Select(long[] order, int epoch, int epochs, Random rng)
    {
        var weights = new List<float>(order.Length);
        var kept = new List<long>(order.Length);
        double sum = 0;
        long scored = 0;
        foreach (var l in Losses)
            if (!float.IsNaN(l)) { sum += l; scored++; }
        bool prune = Prunes(epoch, epochs) && scored > 0 && _ratio > 0;
        double mean = scored > 0 ? sum / scored : 0;
        float up = (float)(1 / (1 - _ratio));
        foreach (var i in order)
        {
            float l = Losses[i];
            bool low = prune && !float.IsNaN(l) && l < mean;
            // One draw per low-loss image, in the epoch's order: the same seed drops the same images.
            if (low && rng.NextDouble() < _ratio) continue;
            kept.Add(i);
            weights.Add(low ? up : 1f);
        }
        return (kept.ToArray(), weights.ToArray());
    }

    /// <summary>Records the losses just computed for the images at <paramref name="indices"/>.</summary>
    public void Record(long[] indices, float[] losses)
    {
        for (int i = 0; i < indices.Length; i++) Losses[indices[i]] = losses[i];
    }
}
