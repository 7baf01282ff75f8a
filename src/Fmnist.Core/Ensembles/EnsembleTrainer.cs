using Fmnist.Data;
using System.Diagnostics;
using Fmnist.Evaluation;
using Fmnist.Experiments;
using Fmnist.Training;

namespace Fmnist.Ensembles;

/// <summary>Trains one member (0-based index) into its run folder and returns its result: in this process,
/// or (the CLI's choice) in a child process with its own threads. When <paramref name="stop"/> fires it stops
/// (a child process at once; its last epoch's checkpoint stays for --resume) and throws.</summary>
internal delegate RunResult MemberTrainer(int index, TrainConfig config, string memberDir, bool resume, CancellationToken stop);

/// <summary>
/// Trains N copies of one recipe that differ only in their seed (initialisation, shuffling, augmentation;
/// the validation split is shared), a given number at a time, then scores the average of their
/// probabilities on the shared validation split and, once, on the test set. A finished member is reused and
/// an interrupted one resumes, so a killed ensemble is continued by running the same command with resume.
/// </summary>
internal static class EnsembleTrainer
{
    public static EnsembleResult TrainAndTest(Dataset data, TrainConfig config, int members, string outDir, MemberTrainer trainMember,
        int parallel = 1, bool resume = false, int? testLimit = null, ITrainingProgress? progress = null, CancellationToken stop = default)
    {
        config.Validate();
        if (members is < 1 or > 64) throw new FmnistException($"an ensemble has 1 to 64 members, got {members}");
        if (parallel < 1) throw new FmnistException($"members trained at once must be at least 1, got {parallel}");
        progress ??= SilentProgress.Instance;
        var folder = new EnsembleFolder(outDir);
        var info = new EnsembleInfo(config with { SplitSeed = config.SplitSeed ?? config.Seed },
            Enumerable.Range(0, members).Select(EnsembleFolder.MemberName).ToList(), DateTimeOffset.UtcNow);
        using (FolderLock.Acquire(outDir))
        {
            if (EnsembleFolder.IsEnsemble(outDir))
            {
                var saved = folder.ReadInfo();
                if (!resume) throw new RunExistsException(folder.Directory);
                if (JsonFiles.Serialize(saved.Config) != JsonFiles.Serialize(info.Config) || saved.Members.Count != members)
                    throw new FmnistException($"{folder.InfoPath}: the ensemble was started with other settings or another member count; resume it with the same options or choose another folder");
                info = saved;
            }
            else
            {
                if (File.Exists(Path.Combine(outDir, "config.json"))) throw new FmnistException($"{folder.Directory}: holds a single run, not an ensemble; choose another folder");
                JsonFiles.Write(folder.InfoPath, info);
            }
        }

        var watch = Stopwatch.StartNew();
        var results = new RunResult[members];
        var todo = new List<int>();
        for (int i = 0; i < members; i++)
        {
            var dir = Path.Combine(folder.Directory, info.Members[i]);
            if (TrainingWorkflow.ReadResult(dir, info.MemberConfig(i)) is { } done)
            {
                results[i] = done;
                progress.Message($"member {i + 1}/{members}: already trained ({Validation(done.ValAccuracy)}), reused");
            }
            else todo.Add(i);
        }
        // The first member to fail stops the others at once (and keeps the queued ones from starting): an hour of
        // siblings' training would otherwise end in the same error.
        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(stop);
        (int Member, Exception Error)? failed = null;
        try
        {
            Parallel.ForEach(todo, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = stopAll.Token }, i =>
            {
                if (stopAll.IsCancellationRequested) return; // the loop's own check may let one more start
                var dir = Path.Combine(folder.Directory, info.Members[i]);
                progress.Message($"member {i + 1}/{members}: training (seed {info.MemberConfig(i).Seed}) -> {dir}");
                try
                {
                    results[i] = trainMember(i, info.MemberConfig(i), dir, resume: Directory.Exists(dir), stopAll.Token);
                }
                catch (Exception e) when (!stopAll.IsCancellationRequested)
                {
                    lock (stopAll) failed ??= (i, e);
                    stopAll.Cancel();
                    return;
                }
                catch (Exception) when (stopAll.IsCancellationRequested)
                {
                    return; // stopped because of a sibling or the caller: reported below
                }
                progress.Message($"member {i + 1}/{members}: done, {Validation(results[i].ValAccuracy)}, {results[i].Seconds / 60:F1} min");
            });
        }
        catch (OperationCanceledException) when (stopAll.IsCancellationRequested)
        {
            // queued members never started
        }
        if (failed is { } f)
        {
            int stopped = todo.Count(i => i != f.Member && results[i] is null);
            throw new FmnistException($"member {f.Member + 1}/{members} failed: {f.Error.Message.Split('\n')[0].Trim()}" +
                (stopped > 0 ? $"; the other {stopped} unfinished were stopped (finished epochs are kept: run the same command with --resume)" : ""));
        }
        if (stop.IsCancellationRequested)
            throw new FmnistException($"{folder.Directory}: stopped; the members' finished epochs are kept: run the same command with --resume to continue");

        var dirs = results.Select(r => r.ModelDir).ToList();
        double? val = null;
        if (config.HasValidation)
        {
            var validation = EvaluationWorkflow.ValidationSet(dirs, data.Train); // the split every member held out
            val = Accuracy(EvaluationWorkflow.Probabilities(dirs, validation.Images, calibrated: false), validation.Labels);
        }
        var test = data.Test.Take(testLimit);
        // The members as trained: their mean is what the folder averages (its own temperature keeps every argmax).
        double testAccuracy = Accuracy(EvaluationWorkflow.Probabilities(dirs, test.Images, calibrated: false), test.Labels);
        var result = new EnsembleResult(folder.Directory, members, val, testAccuracy, results.Sum(r => r.Seconds), watch.Elapsed.TotalSeconds,
            Math.Min(parallel, Math.Max(1, todo.Count)), results);
        JsonFiles.Write(folder.ResultPath, result);
        progress.Message("calibrating the ensemble's averaged output on the validation split -> trust.json");
        Trust.TrustWorkflow.Calibrate(folder.Directory, data.Train);
        return result;
    }

    private static double Accuracy(float[] probabilities, byte[] labels) => Metrics.From(Evaluator.ArgMax(probabilities), labels).Accuracy;

    private static string Validation(double? accuracy) => accuracy is double a ? $"validation {a:P2}" : "no validation split";
}
