namespace Fmnist.Data;

/// <summary>Where the data was found and how.</summary>
public sealed record DataLocation(string Directory, string Source);

/// <summary>
/// Finds the data directory: an explicit directory when given; otherwise, in order, $FASHION_MNIST_DIR,
/// the per-user cache, the Debian package's directory. When the files are not there, downloads them into
/// the explicit directory (or the cache); when that fails too, says how to provide the data.
/// </summary>
public sealed class DataLocator
{
    /// <summary>The environment variable naming a data folder: searched first when no folder is given.</summary>
    public const string EnvVar = "FASHION_MNIST_DIR";
    /// <summary>The environment variable naming a mirror to download the four files from instead of the official host.</summary>
    public const string MirrorEnvVar = "FASHION_MNIST_MIRROR";
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DebianDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>The per-user cache folder ($XDG_CACHE_HOME or ~/.cache, then fmnist/fashion-mnist): downloads go here.</summary>
    public static string CacheDir
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
            return Path.Combine(root, "fmnist", "fashion-mnist");
        }
    }

    /// <summary>Makes the downloader used when no folder has the data (tests pass one; null = the official host or the mirror).</summary>
    internal Func<Downloader>? DownloaderFactory { get; init; }

    /// <summary>The source name of a folder the caller named explicitly.</summary>
    public const string ExplicitSource = "the given folder";

    /// <summary>The folders searched, in order: <paramref name="explicitDir"/> when given, then $FASHION_MNIST_DIR, the cache, the Debian folder.</summary>
    public IReadOnlyList<DataLocation> Candidates(string? explicitDir)
    {
        var list = new List<DataLocation>();
        if (!string.IsNullOrEmpty(explicitDir)) list.Add(new(explicitDir, ExplicitSource));
        var env = Environment.GetEnvironmentVariable(EnvVar);
        if (!string.IsNullOrEmpty(env)) list.Add(new(env, EnvVar));
        list.Add(new(CacheDir, "user cache"));
        list.Add(new(DebianDir, "Debian package dataset-fashion-mnist"));
        return list;
    }

    /// <summary>The folder holding all four files: found, or downloaded (checked by MD5) into <paramref name="explicitDir"/> or the cache.</summary>
    /// <param name="explicitDir">A folder the caller named: only it is used (no fallback); null searches <see cref="Candidates"/>.</param>
    /// <param name="progress">Download progress lines, when a download happens.</param>
    /// <exception cref="FmnistException">No copy found and the download failed: the message lists the ways to provide the data.</exception>
    public DataLocation Locate(string? explicitDir, IProgress<string>? progress = null)
    {
        if (!string.IsNullOrEmpty(explicitDir))
        {
            // An explicit folder means that folder: no silent fallback to data found elsewhere.
            CheckDirectory(explicitDir);
            if (DataFiles.IsComplete(explicitDir)) return new(explicitDir, ExplicitSource);
            var missing = DataFiles.Official.Where(f => DataFiles.Find(explicitDir, f.Name) is null).ToList();
            if (missing.Count < DataFiles.Official.Count)
                throw new DataException(Path.Combine(explicitDir, missing[0].Name),
                    $"not found (nor without .gz); the folder holds only {DataFiles.Official.Count - missing.Count} of the four Fashion-MNIST files");
        }
        else
        {
            foreach (var c in Candidates(null))
                if (Directory.Exists(c.Directory) && DataFiles.IsComplete(c.Directory)) return c;
        }

        var target = string.IsNullOrEmpty(explicitDir) ? CacheDir : explicitDir;
        try
        {
            (DownloaderFactory ?? DefaultDownloader)().DownloadAll(target, progress);
            return new(target, "downloaded");
        }
        catch (DataException e) when (e.Problem.StartsWith("download failed", StringComparison.Ordinal)
                                      || e.Problem.StartsWith("download timed out", StringComparison.Ordinal))
        {
            var first = DataFiles.Official.First(f => DataFiles.Find(target, f.Name) is null);
            throw new DataException(Path.Combine(target, first.Name),
                "not found (Fashion-MNIST missing) and the download failed (" + e.Problem + "). Provide it one of three ways: "
                + "`apt-get install dataset-fashion-mnist` (Debian), "
                + $"set {EnvVar} to (or name) a folder with the four IDX files, "
                + $"or place them in {CacheDir}");
        }
    }

    private static void CheckDirectory(string dir)
    {
        if (File.Exists(dir)) throw new DataException(dir, "is a file, not a directory");
        if (!Directory.Exists(dir)) return; // a download may create it
        try
        {
            _ = Directory.EnumerateFileSystemEntries(dir).FirstOrDefault();
        }
        catch (UnauthorizedAccessException)
        {
            throw new DataException(dir, "directory cannot be read (permission denied)");
        }
    }

    private static Downloader DefaultDownloader()
    {
        var mirror = Environment.GetEnvironmentVariable(MirrorEnvVar);
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        return new Downloader(http, string.IsNullOrEmpty(mirror) ? Downloader.OfficialBase : new Uri(mirror.TrimEnd('/') + "/"));
    }
}
