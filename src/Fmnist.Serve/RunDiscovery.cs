using Fmnist.Training;

namespace Fmnist.Serve;

/// <summary>Which model `serve` uses when none is named: the newest finished run under runs/.</summary>
public static class RunDiscovery
{
    /// <summary>The finished run folder (result.json and model.pt) most recently completed, searched two levels deep
    /// (runs/NAME and runs/sweep/NAME); null when there is none.</summary>
    public static string? Newest(string runsDir)
    {
        if (!Directory.Exists(runsDir)) return null;
        return Directory.EnumerateDirectories(runsDir)
            .SelectMany(d => new[] { d }.Concat(Directory.EnumerateDirectories(d)))
            .Select(d => new RunFolder(d))
            .Where(f => f.IsComplete)
            .OrderByDescending(f => File.GetLastWriteTimeUtc(f.ResultPath))
            .Select(f => Path.GetRelativePath(Directory.GetCurrentDirectory(), f.Directory))
            .FirstOrDefault();
    }
}
