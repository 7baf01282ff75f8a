namespace Fmnist.Experiments.Search;

/// <summary>
/// Successive halving, e.g. <c>{"rungs":[1,3],"eta":3}</c>: every trial trains to epoch 1; the best third of
/// them by validation accuracy go on to epoch 3; the best third of those train to the full epochs. Each
/// trial keeps the full run's learning-rate schedule, so a stopped trial is the start of a full run (as
/// in ASHA and Hyperband), and a promoted one resumes from its checkpoint.
/// <para>Unlike asynchronous ASHA, a rung is decided once every trial in it has reported: the promotions,
/// and so the table, do not depend on how many workers ran or in which order they finished.</para>
/// </summary>
internal sealed record Halving
{
    /// <summary>The epochs at which trials are compared, increasing, all below the trials' epochs.</summary>
    public int[] Rungs { get; init; } = [];

    /// <summary>The reduction factor: 1/eta of a rung's trials (at least one) go on to the next stage.</summary>
    public int Eta { get; init; } = 3;

    public void Validate(int epochs)
    {
        if (Rungs.Length == 0) throw new FmnistException("halving needs at least one rung (an epoch at which trials are compared)");
        if (Rungs[0] < 1 || Rungs.Zip(Rungs.Skip(1)).Any(p => p.Second <= p.First))
            throw new FmnistException($"halving rungs must be increasing positive epochs, got [{string.Join(", ", Rungs)}]");
        if (Rungs[^1] >= epochs)
            throw new FmnistException($"halving rungs must come before the last epoch ({epochs}), got [{string.Join(", ", Rungs)}]");
        if (Eta < 2) throw new FmnistException($"halving eta must be at least 2, got {Eta}");
    }

    /// <summary>How many of <paramref name="n"/> trials go on.</summary>
    public int Keep(int n) => Math.Max(1, n / Eta);

    /// <summary>
    /// The trials that go on from a decided rung: the <see cref="Keep"/> best scores (a trial's best
    /// validation accuracy up to the rung's epoch), ties to the earlier trial; a trial without a score
    /// (it diverged) never goes on.
    /// </summary>
    public IReadOnlyList<int> Promote(IReadOnlyList<(int Trial, double? Score)> rung) =>
        rung.Where(r => r.Score is not null)
            .OrderByDescending(r => r.Score!.Value).ThenBy(r => r.Trial)
            .Take(Keep(rung.Count))
            .Select(r => r.Trial).Order().ToList();
}
