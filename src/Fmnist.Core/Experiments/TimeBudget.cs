using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>How a training was fitted into its wall-clock budget: the speed measured here and the epochs it allows.</summary>
/// <param name="Rounds">Trainings run one after another (an ensemble of N trained J at a time: ceil(N/J)).</param>
/// <param name="MaxEpochs">The config's epochs: the budget only ever lowers them.</param>
internal sealed record BudgetPlan(double BudgetMinutes, double ImagesPerSecond, int Threads, double SecondsPerEpoch, int Rounds, int Epochs, int MaxEpochs)
{
    public double PlannedMinutes => Epochs * SecondsPerEpoch * Rounds / 60;

    public string Describe() =>
        $"time budget {BudgetMinutes:0.##} min: {ImagesPerSecond:F0} training images/s measured here ({Threads} thread{(Threads == 1 ? "" : "s")}" +
        $"{(Rounds > 1 ? $", {Rounds} rounds" : "")}), {SecondsPerEpoch:F0} s an epoch -> {Epochs} of {MaxEpochs} epochs, about {PlannedMinutes:0.#} min";

    public object ToJson() => new
    {
        minutes = BudgetMinutes,
        images_per_second = Math.Round(ImagesPerSecond, 1),
        threads = Threads,
        seconds_per_epoch = Math.Round(SecondsPerEpoch, 1),
        rounds = Rounds,
        epochs = Epochs,
        max_epochs = MaxEpochs,
        planned_minutes = Math.Round(PlannedMinutes, 1),
    };
}

/// <summary>
/// "The most accurate model that fits the hour" depends on the CPU: the `best` preset's 30 epochs a member take
/// 56 minutes on a Zen 4 and about 150 on a Zen 3. Given a budget, this measures the training speed on the
/// machine it runs on (<see cref="SpeedProbe.TrainRate"/>, or the caller's measurement for members trained in
/// their own processes) and lowers the epochs to what fits; the learning-rate schedules follow the epochs, so
/// the shorter run is a complete one, not a cut-off one. The chosen epochs are part of the config the run
/// folder records, so a resumed run keeps them.
/// </summary>
internal static class TimeBudget
{
    /// <summary>Share of the budget planned for training steps: the rest covers the final evaluation and
    /// the few percent members lose to each other when trained side by side (5% on a Zen 4).</summary>
    public const double Planned = 0.92;

    public static BudgetPlan Plan(TrainConfig config, double budgetMinutes, double imagesPerSecond, int threads, int rounds = 1)
    {
        if (budgetMinutes <= 0) throw new FmnistException($"a time budget must be positive, got {budgetMinutes} minutes");
        if (imagesPerSecond <= 0) throw new FmnistException($"a measured training speed must be positive, got {imagesPerSecond}");
        double epochSeconds = SpeedProbe.EpochSeconds(config, imagesPerSecond);
        int fits = (int)Math.Floor(budgetMinutes * 60 * Planned / (epochSeconds * Math.Max(1, rounds)));
        return new BudgetPlan(budgetMinutes, imagesPerSecond, threads, epochSeconds, Math.Max(1, rounds), Math.Clamp(fits, 1, config.Epochs), config.Epochs);
    }
}
