namespace Fmnist.Imaging;

/// <summary>Photos named on a command line: files as given, folders searched recursively for PNG and JPEG files.</summary>
internal static class PhotoFiles
{
    /// <summary>The extensions taken from folders (any case).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg"];

    /// <summary>Files in the order given; each folder's photos in ordinal path order, so runs list them alike everywhere.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (!Directory.Exists(path))
            {
                files.Add(path); // a missing file is reported by the decoder, naming it
                continue;
            }
            var found = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false })
                .Where(IsPhoto).Order(StringComparer.Ordinal).ToList();
            if (found.Count == 0) throw new ImageInputException(path, $"folder holds no {string.Join("/", Extensions)} files");
            files.AddRange(found);
        }
        return files;
    }

    /// <summary>Whether <paramref name="path"/> has a photo's extension.</summary>
    public static bool IsPhoto(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Every file decoded and prepared, in order, several at a time; the first bad file fails the whole call.</summary>
    public static IReadOnlyList<Photo> OpenAll(IReadOnlyList<string> files)
    {
        var photos = new Photo[files.Count];
        try
        {
            Parallel.For(0, files.Count, i => photos[i] = PhotoPreprocessor.Open(files[i]));
        }
        catch (AggregateException e) when (e.InnerExceptions.OfType<ImageInputException>().Any())
        {
            // Of several bad files, the first in order is the one reported, whatever thread met it first.
            var bad = e.InnerExceptions.OfType<ImageInputException>().OrderBy(x => files.ToList().IndexOf(x.Path)).First();
            throw new ImageInputException(bad.Path, bad.Problem);
        }
        return photos;
    }
}
