using System.Security.Cryptography;

namespace Fmnist.Data;

/// <summary>The four files of the dataset, their official checksums, and loading from a directory.</summary>
public static class DataFiles
{
    /// <param name="Md5">MD5 of the official gzip file, from the Fashion-MNIST README.</param>
    /// <param name="ContentMd5">MD5 of the decompressed IDX bytes. Debian's dataset-fashion-mnist
    /// recompresses the files (so their gzip MD5s differ) but keeps the content; these content sums were
    /// taken from that package, whose data reproduces the seed's KNN K=1 figure to the image.</param>
    /// <summary>One of the four official files.</summary>
    /// <param name="Name">File name, e.g. train-images-idx3-ubyte.gz.</param>
    internal sealed record FileSpec(string Name, string Md5, string ContentMd5);

    /// <summary>The four files: training images and labels, test images and labels.</summary>
    internal static readonly IReadOnlyList<FileSpec> Official =
    [
        new("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        new("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
        new("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
        new("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
    ];

    /// <summary>The path of a file in a directory, gzip or raw (name without ".gz"); null when absent.</summary>
    public static string? Find(string directory, string gzName)
    {
        var gz = Path.Combine(directory, gzName);
        if (File.Exists(gz)) return gz;
        var raw = Path.Combine(directory, gzName[..^3]);
        return File.Exists(raw) ? raw : null;
    }

    /// <summary>True when <paramref name="directory"/> holds all four files (gzip or raw).</summary>
    public static bool IsComplete(string directory) => Official.All(f => Find(directory, f.Name) is not null);

    /// <summary>Reads the training (60,000) and test (10,000) images and labels from <paramref name="directory"/>.</summary>
    /// <exception cref="FmnistException">A file is missing, truncated or not IDX: the message names it.</exception>
    public static Dataset Load(string directory)
    {
        string Need(int i) => Find(directory, Official[i].Name)
            ?? throw new DataException(Path.Combine(directory, Official[i].Name), "file not found");
        var train = Pair(Need(0), Need(1));
        var test = Pair(Need(2), Need(3));
        return new Dataset(directory, train, test);
    }

    private static LabeledImages Pair(string imagesPath, string labelsPath)
    {
        var images = IdxReader.ReadImages(imagesPath);
        var labels = IdxReader.ReadLabels(labelsPath);
        if (images.Length / ImageShape.Pixels != labels.Length)
            throw new DataException(labelsPath,
                $"{labels.Length} labels but {images.Length / ImageShape.Pixels} images in {Path.GetFileName(imagesPath)}");
        return new LabeledImages(images, labels);
    }

    /// <summary>The MD5 of the file at <paramref name="path"/>, lower-case hex.</summary>
    public static string Md5(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    /// <summary>MD5 of the bytes a file holds after gzip decompression (of the file itself when raw).</summary>
    public static string ContentMd5(string path)
    {
        using var file = File.OpenRead(path);
        using var stream = IdxReader.IsGzip(file) ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress) : (Stream)file;
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    /// <param name="Official">The file is the official gzip file, byte for byte.</param>
    /// <param name="OfficialContent">Its decompressed content is the official data (true too when Official).</param>
    /// <param name="File">The file checked.</param>
    /// <param name="Md5">Its MD5.</param>
    /// <param name="ContentMd5">The MD5 of its decompressed content.</param>
    internal sealed record ChecksumStatus(string File, string Md5, string ContentMd5, bool Official, bool OfficialContent);

    /// <summary>Checksums of each present file and whether it is (or holds) the official Fashion-MNIST data.</summary>
    internal static IReadOnlyList<ChecksumStatus> Checksums(string directory) =>
        Official.Select(f => (Spec: f, Path: Find(directory, f.Name)))
            .Where(x => x.Path is not null)
            .Select(x =>
            {
                var md5 = Md5(x.Path!);
                var content = ContentMd5(x.Path!);
                return new ChecksumStatus(x.Path!, md5, content, md5 == x.Spec.Md5, md5 == x.Spec.Md5 || content == x.Spec.ContentMd5);
            })
            .ToList();
}
