using System.Text.Json;
using Fmnist.Experiments;
using Fmnist.Training;
using static Fmnist.Tests.InProcessCli;

namespace Fmnist.Tests;

/// <summary>`train --time-budget`: epochs fitted to the speed measured on the machine, kept on resume.</summary>
public class TimeBudgetTests
{
    [Fact]
    public void The_plan_fits_whole_epochs_into_the_planned_share_of_the_budget()
    {
        // 60,000 images, 20% validation, crop augmentation: 48,000 training images an epoch; at 400 images/s
        // 120 s of steps, (12,000 + 8,192) / 1,200 = 16.83 s of calibration and validation, 1 s of bookkeeping.
        var config = Presets.Get("fast") with { Epochs = 30 };
        double epoch = 48000 / 400.0 + (12000 + BatchNormCalibration.DefaultImages) / 1200.0 + 1;
        var plan = TimeBudget.Plan(config, budgetMinutes: 60, imagesPerSecond: 400, threads: 1);
        Assert.Equal(epoch, plan.SecondsPerEpoch, 9);
        Assert.Equal((int)Math.Floor(3600 * TimeBudget.Planned / epoch), plan.Epochs); // 24
        Assert.Equal(24, plan.Epochs);
        Assert.Equal(30, plan.MaxEpochs);
        // Two rounds (an ensemble of 2 trained one after the other) halve it; a fast machine is capped at --epochs.
        Assert.Equal(12, TimeBudget.Plan(config, 60, 400, 2, rounds: 2).Epochs);
        Assert.Equal(30, TimeBudget.Plan(config, 60, 4000, 2).Epochs);
        // A budget too small for one epoch still trains one.
        Assert.Equal(1, TimeBudget.Plan(config, 0.01, 400, 1).Epochs);
        Assert.Contains("-> 24 of 30 epochs", plan.Describe());
        Assert.Throws<FmnistException>(() => TimeBudget.Plan(config, 0, 400, 1));
        Assert.Throws<FmnistException>(() => TimeBudget.Plan(config, 60, 0, 1));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Train_with_a_budget_records_the_fitted_epochs_and_a_resume_keeps_them()
    {
        var dir = Path.Combine(TestData.TempDir(), "budget");
        string[] args = ["train", "--preset", "fast", "--widths", "8,16", "--train-limit", "600", "--test-limit", "100", "--epochs", "500",
            "--time-budget", "0.2", "--out", dir, "--json"];
        var (code, stdout, stderr) = Run(args);
        Assert.True(code == 0, stderr);
        var budget = JsonDocument.Parse(stdout).RootElement.GetProperty("time_budget");
        int epochs = budget.GetProperty("epochs").GetInt32();
        Assert.InRange(epochs, 1, 499); // 500 epochs of 480 images cannot fit 12 s on any machine
        Assert.Equal(500, budget.GetProperty("max_epochs").GetInt32());
        Assert.True(budget.GetProperty("images_per_second").GetDouble() > 0);
        Assert.Contains($"-> {epochs} of 500 epochs", stderr);
        Assert.Equal(epochs, new RunFolder(dir).ReadInfo().Config.Epochs);

        var (again, againOut, againErr) = Run([.. args, "--resume"]);
        Assert.True(again == 0, againErr);
        Assert.Contains($"resuming with the {epochs} epoch{(epochs == 1 ? "" : "s")} the run started with", againErr); // 1 on a loaded machine
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(againOut).RootElement.GetProperty("time_budget").ValueKind);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public void A_budget_that_is_not_positive_is_a_usage_error(string minutes)
    {
        var (code, stdout, stderr) = Run("train", "--time-budget", minutes, "--train-limit", "100");
        Assert.Equal(1, code);
        Assert.Equal("--time-budget must be a positive number of minutes", stderr.Trim());
    }
}
