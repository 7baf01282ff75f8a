namespace Fmnist.Data;

/// <summary>A folder of labelled photos: one subfolder per class, named after the class or by its index.</summary>
internal static class ClassFolders
{
    /// <summary>
    /// The label a subfolder name stands for: its name and a class name agree ignoring case and everything that is
    /// not a letter or digit (tshirt-top and T-shirt_top are T-shirt/top), or it is the index 0-9; null otherwise.
    /// </summary>
    public static int? Match(string name)
    {
        var key = Key(name);
        if (key.Length == 1 && char.IsAsciiDigit(key[0])) return key[0] - '0';
        for (int c = 0; c < ClassNames.Count; c++)
            if (Key(ClassNames.All[c]) == key) return c;
        return null;
    }

    /// <summary>A name suggested for class <paramref name="label"/>'s folder (tshirt-top, ankle-boot, ...).</summary>
    public static string FolderName(int label) =>
        string.Join('-', ClassNames.All[label].ToLowerInvariant().Split(['/', ' ', '-'], StringSplitOptions.RemoveEmptyEntries)).Replace("t-shirt", "tshirt");

    /// <summary>Every photo under <paramref name="root"/>'s class subfolders with its label, in ordinal path order.</summary>
    /// <exception cref="FmnistException">A subfolder matches no class, two match the same one, or none holds photos.</exception>
    public static IReadOnlyList<(string File, int Label)> Read(string root)
    {
        if (!Directory.Exists(root)) throw new FmnistException($"{root}: folder not found");
        var labelled = new List<(string, int)>();
        var seen = new Dictionary<int, string>();
        foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (Match(name) is not { } label)
                throw new FmnistException($"{dir}: the folder name matches no class (use one of {string.Join(", ", Enumerable.Range(0, ClassNames.Count).Select(FolderName))}, or 0-9)");
            if (seen.TryGetValue(label, out var other))
                throw new FmnistException($"{dir}: the same class ({ClassNames.All[label]}) as {other}");
            seen[label] = dir;
            labelled.AddRange(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Where(Imaging.PhotoFiles.IsPhoto).Order(StringComparer.Ordinal).Select(f => (f, label)));
        }
        if (labelled.Count == 0) throw new FmnistException($"{root}: no photos in class subfolders (one subfolder per class, e.g. {root}/sneaker/*.jpg)");
        return labelled;
    }

    private static string Key(string name) => new([.. name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);
}
