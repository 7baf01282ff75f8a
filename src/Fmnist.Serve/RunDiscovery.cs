using Fmnist.Ensembles;
using Fmnist.Training;

namespace Fmnist.Serve;

/// <summary>Which model `serve` uses when none is named: the newest finished run or ensemble under runs/.</summary>
public static class RunDiscovery
{
    /// <summary>
    /// The finished model folder most recently completed, searched two levels deep (runs/NAME and runs/sweep/NAME): a run
    /// folder (result.json and model.pt) or an ensemble folder (ensemble.json and ensemble-result.json, served as the
    /// average of its members, as `train --preset best` leaves it). A member of a finished ensemble is never picked
    /// alone: the ensemble is the model that was trained. Null when there is none.
    /// </summary>
    public static string? Newest(string runsDir)
    {
        if (!Directory.Exists(runsDir)) return null;
        return Directory.EnumerateDirectories(runsDir)
            .SelectMany(d => new[] { d }.Concat(Directory.EnumerateDirectories(d)))
            .Select(d => (Directory: d, Finished: Finished(d)))
            .Where(f => f.Finished is not null && !InFinishedEnsemble(f.Directory))
            .OrderByDescending(f => File.GetLastWriteTimeUtc(f.Finished!))
            .Select(f => Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.GetFullPath(f.Directory)))
            .FirstOrDefault();
    }

    /// <summary>The file whose writing finished the folder's model (its time orders the candidates); null when unfinished.</summary>
    private static string? Finished(string dir)
    {
        if (EnsembleFolder.IsEnsemble(dir))
        {
            var ensemble = new EnsembleFolder(dir);
            return File.Exists(ensemble.ResultPath) ? ensemble.ResultPath : null;
        }
        var run = new RunFolder(dir);
        return run.IsComplete ? run.ResultPath : null;
    }

    private static bool InFinishedEnsemble(string dir) =>
        Path.GetDirectoryName(Path.GetFullPath(dir)) is { } parent && EnsembleFolder.IsEnsemble(parent)
        && File.Exists(new EnsembleFolder(parent).ResultPath);
}
