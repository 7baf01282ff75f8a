using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Imaging;
using Fmnist.Training;
using Xunit.Abstractions;
using static Fmnist.Tests.InProcessCli;

namespace Fmnist.Tests;

/// <summary>
/// Hostile images, kept clean: a few hundred damaged and odd files through the photo preprocessor and
/// `predict`. Each one either becomes a valid 28x28 image or is refused with the project's one-line
/// ImageInputException: never another exception, never a hang. Seeded, so a SkiaSharp upgrade that
/// regresses on one of them fails the same way every time.
/// </summary>
public sealed class HostileImageTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 16, MutantsPerFile = 12;
    private static readonly TimeSpan PerFile = TimeSpan.FromSeconds(10);
    private readonly string _dir = TestData.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Every_valid_odd_file_decodes()
    {
        foreach (var (name, bytes) in HostileImages.ValidOddFiles())
        {
            var image = PhotoPreprocessor.FromBytes(bytes, name);
            Assert.Equal(28 * 28, image.Length);
            Assert.True(image.Max() == 255, $"{name}: no garment left after preprocessing");
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Exif_orientation_is_honoured(int orientation)
    {
        Assert.True(Upright(PhotoPreprocessor.FromBytes(HostileImages.ExifRotated(orientation), "tagged.jpg")),
            $"orientation {orientation}: the garment is not the right way up");
        // The same stored pixels without the tag are not upright: the check above can fail.
        Assert.False(Upright(PhotoPreprocessor.FromBytes(HostileImages.ExifRotated(orientation, withTag: false), "untagged.jpg")));
    }

    [Fact]
    public async Task Damaged_files_decode_or_are_refused_cleanly_by_the_preprocessor_and_predict()
    {
        var rng = new Random(Seed);
        var files = new List<(string Path, string Kind)>();
        foreach (var (name, bytes) in HostileImages.ValidOddFiles())
        {
            for (int i = 0; i < MutantsPerFile; i++)
            {
                var kind = ImageMutations.Kinds[rng.Next(ImageMutations.Kinds.Length)];
                var path = Path.Combine(_dir, $"{Path.GetFileNameWithoutExtension(name)}-{i:D2}-{kind}{Path.GetExtension(name)}");
                File.WriteAllBytes(path, ImageMutations.Mutate(bytes, kind, rng));
                files.Add((path, kind));
            }
        }

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var outcomes = new Dictionary<string, int>();
        var decoded = new List<string>();
        var refused = new List<(string Path, string Message)>();
        var wrong = new List<string>();
        foreach (var (path, kind) in files)
        {
            string outcome;
            try
            {
                // On a thread of its own, so that a decoder that loops forever fails the test instead of hanging it.
                var image = await Task.Run(() => PhotoPreprocessor.Load(path)).WaitAsync(PerFile);
                if (image.Length != 28 * 28) throw new InvalidOperationException($"{image.Length} pixels");
                outcome = "decoded";
                decoded.Add(path);
            }
            catch (ImageInputException bad)
            {
                Assert.Equal(path, bad.Path);
                Assert.DoesNotContain('\n', bad.Message);
                outcome = "refused: " + Category(bad.Problem);
                refused.Add((path, bad.Message));
            }
            catch (Exception e)
            {
                outcome = "WRONG";
                wrong.Add($"{Path.GetFileName(path)}: {e}");
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            outcomes[$"{kind} {outcome}"] = outcomes.GetValueOrDefault($"{kind} {outcome}") + 1;
        }
        // The counts, for docs/reliability.md: totals by outcome, then by kind of damage.
        foreach (var (key, count) in outcomes.OrderBy(o => ImageMutations.Kinds.Any(o.Key.StartsWith)).ThenBy(o => o.Key))
            output.WriteLine($"{count,4}  {key}");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.True(files.Count >= 300 && decoded.Count > 0 && refused.Count > 0, $"{files.Count} files, {decoded.Count} decoded, {refused.Count} refused");

        output.WriteLine($"{files.Count} files through the preprocessor in {watch.Elapsed.TotalSeconds:F1} s");
        watch.Restart();
        // predict: the decodable ones in one call, then each refused one alone: the preprocessor's line, nothing else.
        var model = UntrainedRun();
        var (code, stdout, err) = Run(["predict", "--json", "--model", model, .. decoded]);
        Assert.True(code == 0, err);
        Assert.Equal(decoded.Count, System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("predictions").GetArrayLength());
        output.WriteLine($"predict of {decoded.Count} decodable files in {watch.Elapsed.TotalSeconds:F1} s");
        watch.Restart();
        foreach (var (path, message) in refused)
        {
            (code, stdout, err) = Run("predict", "--model", model, path);
            Assert.Equal((1, "", $"fmnist: {message}\n"), (code, stdout, err.ReplaceLineEndings("\n")));
        }
        output.WriteLine($"predict: {refused.Count} refused files, one call each, in {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>A run folder with a small untrained network: predict's answers do not matter here, only that it gives them.</summary>
    private static string UntrainedRun()
    {
        var folder = new RunFolder(TestData.TempDir());
        var config = new TrainConfig { Model = new CnnLstmConfig { Lstm = 16, Dense = 16 } };
        TorchRuntime.Initialize();
        using var net = Models.ModelFactory.Create(config.Model);
        JsonFiles.Write(folder.ConfigPath, new RunInfo(config, new Features.Normalization(73, 90), Trainer.Versions(), DateTimeOffset.UtcNow));
        folder.SaveWeights(net, folder.ModelPath);
        return folder.Directory;
    }

    /// <summary>The problem without its numbers (sizes, codec results), to count refusals by reason.</summary>
    private static string Category(string problem) => problem switch
    {
        _ when problem.StartsWith("image is ") => "too many pixels",
        _ when problem.StartsWith("image data is truncated or corrupt") => "truncated or corrupt",
        _ => problem,
    };

    /// <summary>The garment's sleeves (the wide part) at the top: more bright pixels in the top quarter than the bottom one.</summary>
    private static bool Upright(byte[] image)
    {
        int Bright(int fromRow, int toRow) => Enumerable.Range(fromRow * 28, (toRow - fromRow) * 28).Count(i => image[i] > 128);
        return Bright(0, 7) > 1.5 * Bright(21, 28);
    }
}
