namespace Fmnist.Data;

/// <summary>
/// Downloads the four official files. Each goes to a temporary name, its MD5 is checked, and only
/// then is it renamed into place: a broken or foreign download never looks like data.
/// </summary>
internal sealed class Downloader(HttpClient http, Uri baseUri, IReadOnlyList<DataFiles.FileSpec>? files = null)
{
    private readonly IReadOnlyList<DataFiles.FileSpec> _files = files ?? DataFiles.Official;

    public static readonly Uri OfficialBase = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");

    public void DownloadAll(string directory, IProgress<string>? progress = null)
    {
        Directory.CreateDirectory(directory);
        foreach (var spec in _files)
        {
            var target = Path.Combine(directory, spec.Name);
            if (File.Exists(target) && DataFiles.Md5(target) == spec.Md5) continue;
            progress?.Report($"downloading {spec.Name}");
            DownloadWithRetries(spec, target);
        }
    }

    /// <summary>Wait before the first retry of a dropped connection; doubled before the second.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A dropped connection is retried twice (after RetryDelay, then twice that); HTTP errors and bad checksums are not.</summary>
    private void DownloadWithRetries(DataFiles.FileSpec spec, string target, int attempts = 3)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                Download(spec, target);
                return;
            }
            catch (DataException e) when (e.InnerException is HttpRequestException or IOException && attempt < attempts)
            {
                Thread.Sleep(RetryDelay * attempt);
            }
        }
    }

    private void Download(DataFiles.FileSpec spec, string target)
    {
        try
        {
            AtomicFile.Write(target, tmp =>
            {
                using (var response = http.GetAsync(new Uri(baseUri, spec.Name), HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult())
                {
                    if (!response.IsSuccessStatusCode)
                        throw new DataException(new Uri(baseUri, spec.Name).ToString(), $"download failed: HTTP {(int)response.StatusCode}");
                    using var body = response.Content.ReadAsStream();
                    using var file = File.Create(tmp);
                    body.CopyTo(file);
                }
                var md5 = DataFiles.Md5(tmp);
                if (md5 != spec.Md5)
                    throw new DataException(target, $"checksum mismatch after download: MD5 {md5}, expected {spec.Md5}; file deleted");
            });
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new DataException(new Uri(baseUri, spec.Name).ToString(), $"download failed: {e.Message.TrimEnd('.')}", e);
        }
        catch (TaskCanceledException)
        {
            throw new DataException(new Uri(baseUri, spec.Name).ToString(), "download timed out");
        }
    }
}
