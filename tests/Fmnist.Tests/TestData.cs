using Fmnist.Data;

namespace Fmnist.Tests;

/// <summary>Temporary folders, generated IDX files, and the real dataset (loaded once per test run).</summary>
public static class TestData
{
    private static readonly Lazy<Dataset> Real = new(() => DataFiles.Load(new DataLocator().Locate(null).Directory));

    public static Dataset Fashion => Real.Value;

    /// <summary>The repository root: the nearest folder above the test binaries that holds fmnist.slnx.</summary>
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "fmnist.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no fmnist.slnx above {AppContext.BaseDirectory}");
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fmnist-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static LabeledImages Random(int count, int seed, int levels = 256)
    {
        var rng = new Random(seed);
        var images = new byte[count * ImageShape.Pixels];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)(rng.Next(levels) * (255 / Math.Max(1, levels - 1)));
        var labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)rng.Next(10);
        return new LabeledImages(images, labels);
    }

    /// <summary>Writes a complete four-file dataset (gzip) with the given sets; returns the folder.</summary>
    public static string WriteDataset(LabeledImages train, LabeledImages test, string? dir = null)
    {
        dir ??= TempDir();
        IdxReader.Write(Path.Combine(dir, "train-images-idx3-ubyte.gz"), IdxReader.ImageMagic, [train.Count, ImageShape.Side, ImageShape.Side], train.Images);
        IdxReader.Write(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), IdxReader.LabelMagic, [train.Count], train.Labels);
        IdxReader.Write(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), IdxReader.ImageMagic, [test.Count, ImageShape.Side, ImageShape.Side], test.Images);
        IdxReader.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), IdxReader.LabelMagic, [test.Count], test.Labels);
        return dir;
    }
}
