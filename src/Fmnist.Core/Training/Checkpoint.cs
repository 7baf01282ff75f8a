using System.Globalization;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// Everything a run's future depends on, written as one unit after each epoch, so that a run killed at any
/// moment and resumed continues bitwise as if it had never stopped. The state is: the weights, the optimizer's
/// moments and step counts, the weight average, libtorch's random generator (dropout draws from it; the
/// shuffling and augmentation are reseeded from (seed, epoch) and need nothing stored), and the epoch
/// counter from which the schedule position follows. The bf16 copy is pulled from the fp32 weights before
/// every step and carries nothing over.
///
/// One unit: each file is written atomically, but a kill between two of them would pair epoch N's weights
/// with epoch N-1's optimizer. So the epoch's files are staged in FOLDER/.pending, checkpoint.json last as
/// the commit mark, and only then moved into place. <see cref="Recover"/> finishes a commit whose mark was
/// written and discards a staging without one: the folder always holds exactly one complete epoch.
/// </summary>
internal static class Checkpoint
{
    public static void Save(RunFolder folder, TrainingStep step, CheckpointState state, bool best)
    {
        try
        {
            Stage(folder, step, state, best);
        }
        catch (FmnistException e) when (e.InnerException is { } cause && AtomicFile.IsDiskRefusal(cause))
        {
            Directory.Delete(folder.PendingDirectory, recursive: true);
            var kept = state.Epoch > 1 ? $"the folder keeps epoch {state.Epoch - 1}'s checkpoint: make room and run the command again (train: with --resume) to continue from it" : "no epoch was saved";
            throw new FmnistException($"{e.Message}; {kept}", cause);
        }
        Commit(folder);
    }

    private static void Stage(RunFolder folder, TrainingStep step, CheckpointState state, bool best)
    {
        var pending = folder.PendingDirectory;
        if (Directory.Exists(pending)) Directory.Delete(pending, recursive: true);
        Directory.CreateDirectory(pending);
        string Staged(string path) => Path.Combine(pending, Path.GetFileName(path));
        var staged = new List<(string File, string Target)>();
        void Write(string target, Action<string> writeTemp)
        {
            AtomicFile.Write(Staged(target), writeTemp, shownAs: target);
            staged.Add((Staged(target), target));
        }

        if (best) Write(folder.ModelPath, tmp => step.EvalNet.save(tmp));
        Write(folder.CheckpointPath, tmp => step.Net.save(tmp));
        if (step.Ema is not null) Write(folder.EmaPath, tmp => step.Ema.Net.save(tmp));
        Write(folder.OptimizerPath, tmp => step.Optimizer.save_state_dict(tmp));
        Write(folder.HistoryJsonPath, tmp => File.WriteAllText(tmp, JsonFiles.Serialize(state.History) + "\n"));
        Write(folder.HistoryCsvPath, tmp => File.WriteAllText(tmp, HistoryCsv(state.History)));
        // On disk before the mark, so that neither a crash of the machine nor a delayed write error (some file
        // systems report a full disk only when the data is flushed) can leave a mark over incomplete files.
        foreach (var (file, target) in staged) FlushToDisk(file, target);
        AtomicFile.Write(Staged(folder.StatePath), tmp => File.WriteAllText(tmp, JsonFiles.Serialize(state) + "\n"), shownAs: folder.StatePath);
    }

    /// <summary>Finishes or discards what a kill left in .pending; call before reading the folder's state.</summary>
    public static void Recover(RunFolder folder)
    {
        if (!Directory.Exists(folder.PendingDirectory)) return;
        if (File.Exists(Path.Combine(folder.PendingDirectory, Path.GetFileName(folder.StatePath)))) Commit(folder);
        else Directory.Delete(folder.PendingDirectory, recursive: true);
    }

    /// <summary>Loads a saved epoch's weights, optimizer, average and random generator into a freshly built step.</summary>
    public static void Restore(RunFolder folder, TrainingStep step, CheckpointState state, ITrainingProgress progress)
    {
        step.Net.load(folder.CheckpointPath);
        step.Optimizer.load_state_dict(folder.OptimizerPath);
        if (step.Ema is not null)
        {
            if (!File.Exists(folder.EmaPath)) throw new FmnistException($"{folder.EmaPath}: missing; cannot resume a run with EMA");
            step.Ema.Net.load(folder.EmaPath);
        }
        if (state.TorchRandomState is { } saved)
        {
            using var generator = tensor(Convert.FromBase64String(saved));
            random.set_rng_state(generator);
        }
        else progress.Message($"{folder.StatePath}: written by an older fmnist, without the random state; the resumed run will differ from an uninterrupted one");
    }

    /// <summary>libtorch's default generator (a Mersenne Twister: ~5 KB of state), as text for checkpoint.json.</summary>
    public static string TorchRandomState()
    {
        using var state = random.get_rng_state();
        return Convert.ToBase64String(state.data<byte>().ToArray());
    }

    /// <summary>The moves are renames within one folder: each is atomic, and repeating them after a kill is harmless.</summary>
    private static void Commit(RunFolder folder)
    {
        var mark = Path.Combine(folder.PendingDirectory, Path.GetFileName(folder.StatePath));
        foreach (var file in Directory.GetFiles(folder.PendingDirectory))
        {
            var name = Path.GetFileName(file);
            // Dot files are AtomicFile's temporaries of an interrupted write, never part of the epoch.
            if (file == mark || name.StartsWith('.')) continue;
            File.Move(file, Path.Combine(folder.Directory, name), overwrite: true);
        }
        File.Move(mark, folder.StatePath, overwrite: true);
        Directory.Delete(folder.PendingDirectory, recursive: true);
    }

    private static void FlushToDisk(string path, string target)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (AtomicFile.IsDiskRefusal(e))
        {
            throw new FmnistException($"{target}: cannot write ({AtomicFile.Reason(e)})", e);
        }
    }

    public static string HistoryCsv(IReadOnlyList<EpochRecord> history)
    {
        static string F(double? v) => v?.ToString("F6", CultureInfo.InvariantCulture) ?? "";
        return "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,rss_mb,precision\n" + string.Concat(
            history.Select(h => FormattableString.Invariant(
                $"{h.Epoch},{h.TrainLoss:F6},{h.TrainAccuracy:F6},{F(h.ValLoss)},{F(h.ValAccuracy)},{h.LearningRate:G6},{h.Seconds:F2},{h.ImagesPerSecond:F1},{h.RssMb:F0},{h.Precision}\n")));
    }
}
