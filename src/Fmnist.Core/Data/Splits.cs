namespace Fmnist.Data;

/// <summary>Seeded, stratified train/validation split of a labelled set.</summary>
internal static class Splits
{
    /// <summary>
    /// Holds out round(fraction * n_c) images of every class c, chosen by a seeded shuffle. Both index
    /// lists come back sorted ascending, so the order of the original data is kept.
    /// </summary>
    public static (int[] Train, int[] Validation) Stratified(ReadOnlySpan<byte> labels, double fraction, int seed)
    {
        if (fraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(fraction), "fraction must be in [0, 1)");
        var byClass = Enumerable.Range(0, ClassNames.Count).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Length; i++) byClass[labels[i]].Add(i);
        var rng = new Random(seed);
        var train = new List<int>();
        var val = new List<int>();
        foreach (var members in byClass)
        {
            var shuffled = members.ToArray();
            rng.Shuffle(shuffled);
            int held = (int)Math.Round(fraction * shuffled.Length);
            val.AddRange(shuffled[..held]);
            train.AddRange(shuffled[held..]);
        }
        train.Sort();
        val.Sort();
        return (train.ToArray(), val.ToArray());
    }
}
