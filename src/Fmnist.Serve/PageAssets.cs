using System.Reflection;

namespace Fmnist.Serve;

/// <summary>The page's files, compiled into this assembly (see the csproj): no CDN, no files on disk.</summary>
public static class PageAssets
{
    public sealed record Asset(string Path, string ContentType, byte[] Bytes);

    public static IReadOnlyList<Asset> All { get; } =
    [
        Load("/", "index.html", "text/html; charset=utf-8"),
        Load("/app.js", "app.js", "text/javascript; charset=utf-8"),
        Load("/app.css", "app.css", "text/css; charset=utf-8"),
    ];

    private static Asset Load(string path, string file, string type)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("wwwroot/" + file)
                           ?? throw new InvalidOperationException($"page asset {file} is not embedded in {typeof(PageAssets).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new Asset(path, type, copy.ToArray());
    }
}
