using System.Net;
using System.Net.Sockets;
using Fmnist.Data;

namespace Fmnist.Tests;

/// <summary>The real download code against a local HTTP server (this machine has no internet).</summary>
public sealed class DownloadTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files = new();
    private readonly Dictionary<string, int> _drops = new(); // connections to cut before serving a file
    private readonly Uri _base;

    public DownloadTests()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _base = new Uri($"http://127.0.0.1:{port}/data/");
        _listener.Prefixes.Add(_base.ToString());
        _listener.Start();
        _ = Task.Run(Serve);
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            var name = Path.GetFileName(ctx.Request.Url!.AbsolutePath);
            // One request per connection: HttpListener on Linux can close a kept-alive connection that the
            // client's pool then reuses, failing a request now and then ("error while sending the request").
            ctx.Response.KeepAlive = false;
            if (_drops.TryGetValue(name, out int drops) && drops > 0 && _files.TryGetValue(name, out var whole))
            {
                // Half the promised bytes, then the connection is cut.
                _drops[name] = drops - 1;
                ctx.Response.ContentLength64 = whole.Length;
                await ctx.Response.OutputStream.WriteAsync(whole.AsMemory(0, whole.Length / 2));
                ctx.Response.Abort();
                continue;
            }
            if (_files.TryGetValue(name, out var body))
            {
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentLength64 = body.Length;
                await ctx.Response.OutputStream.WriteAsync(body);
            }
            else ctx.Response.StatusCode = 404;
            ctx.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();

    /// <summary>A small valid dataset, served; returns the specs with its real MD5s.</summary>
    private List<DataFiles.FileSpec> Publish()
    {
        var src = TestData.WriteDataset(TestData.Random(12, 1), TestData.Random(4, 2));
        var specs = new List<DataFiles.FileSpec>();
        foreach (var f in DataFiles.Official)
        {
            var path = Path.Combine(src, f.Name);
            _files[f.Name] = File.ReadAllBytes(path);
            specs.Add(new DataFiles.FileSpec(f.Name, DataFiles.Md5(path), f.ContentMd5));
        }
        return specs;
    }

    private Downloader Client(IReadOnlyList<DataFiles.FileSpec> specs) => new(new HttpClient(), _base, specs) { RetryDelay = TimeSpan.FromMilliseconds(10) };

    [Fact]
    public void A_dropped_connection_is_retried_and_a_dead_one_is_reported()
    {
        var specs = Publish();
        _drops["train-images-idx3-ubyte.gz"] = 2;
        var dir = Path.Combine(TestData.TempDir(), "dl");
        Client(specs).DownloadAll(dir);
        Assert.Equal(12, DataFiles.Load(dir).Train.Count);

        _drops["t10k-labels-idx1-ubyte.gz"] = 3;
        var other = Path.Combine(TestData.TempDir(), "dl2");
        var e = Assert.Throws<DataException>(() => Client(specs).DownloadAll(other));
        Assert.StartsWith($"{new Uri(_base, "t10k-labels-idx1-ubyte.gz")}: download failed", e.Message);
        Assert.Empty(Directory.GetFiles(other, "*.tmp"));
    }

    [Fact]
    public void Downloads_all_four_files_and_they_load()
    {
        var specs = Publish();
        var dir = Path.Combine(TestData.TempDir(), "dl");
        Client(specs).DownloadAll(dir);
        Assert.Equal(12, DataFiles.Load(dir).Train.Count);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Checksum_mismatch_deletes_the_file_and_fails()
    {
        var specs = Publish();
        _files["train-labels-idx1-ubyte.gz"] = [.. _files["train-labels-idx1-ubyte.gz"], 0];
        var dir = Path.Combine(TestData.TempDir(), "dl");
        var e = Assert.Throws<DataException>(() => Client(specs).DownloadAll(dir));
        Assert.StartsWith($"{Path.Combine(dir, "train-labels-idx1-ubyte.gz")}: checksum mismatch after download", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "train-labels-idx1-ubyte.gz")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Http_error_is_reported_with_the_url()
    {
        var e = Assert.Throws<DataException>(() => Client(DataFiles.Official).DownloadAll(TestData.TempDir()));
        Assert.Equal($"{_base}train-images-idx3-ubyte.gz: download failed: HTTP 404", e.Message);
    }

    [Fact]
    public void Locator_explains_the_three_ways_when_nothing_is_found_and_download_fails()
    {
        var empty = TestData.TempDir();
        var locator = new DataLocator { DownloaderFactory = () => Client(DataFiles.Official) };
        // An explicit folder without data: the search does not fall back to other places' data for it.
        var e = Assert.Throws<DataException>(() => locator.Locate(empty));
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains(DataLocator.EnvVar, e.Message);
        Assert.Contains("a folder with the four IDX files", e.Message);
        Assert.StartsWith(Path.Combine(empty, "train-images-idx3-ubyte.gz") + ": not found", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Locator_names_the_missing_file_of_a_partial_folder()
    {
        var dir = TestData.WriteDataset(TestData.Random(5, 1), TestData.Random(5, 2));
        File.Delete(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
        var locator = new DataLocator { DownloaderFactory = () => throw new InvalidOperationException("must not download") };
        var e = Assert.Throws<DataException>(() => locator.Locate(dir));
        Assert.Equal($"{Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")}: not found (nor without .gz); the folder holds only 3 of the four Fashion-MNIST files", e.Message);
    }
}
