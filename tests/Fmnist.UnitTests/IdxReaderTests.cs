using System.IO.Compression;
using Fmnist.Data;

namespace Fmnist.Tests;

public class IdxReaderTests
{
    [Theory]
    [InlineData("imgs.gz")]
    [InlineData("imgs")]
    public void Images_round_trip_gzip_and_raw(string name)
    {
        var set = TestData.Random(7, 1);
        var path = Path.Combine(TestData.TempDir(), name);
        IdxReader.Write(path, IdxReader.ImageMagic, [7, 28, 28], set.Images);
        Assert.Equal(set.Images, IdxReader.ReadImages(path));
    }

    [Fact]
    public void Labels_round_trip()
    {
        var path = Path.Combine(TestData.TempDir(), "labels.gz");
        byte[] labels = [0, 9, 3, 3, 1];
        IdxReader.Write(path, IdxReader.LabelMagic, [5], labels);
        Assert.Equal(labels, IdxReader.ReadLabels(path));
    }

    private static DataException Fails(Action read) => Assert.Throws<DataException>(read);

    [Fact]
    public void Truncated_gzip_is_reported_as_truncated()
    {
        var path = Path.Combine(TestData.TempDir(), "imgs.gz");
        IdxReader.Write(path, IdxReader.ImageMagic, [50, 28, 28], TestData.Random(50, 2).Images);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Fails(() => IdxReader.ReadImages(path));
        Assert.Equal($"{path}: truncated gzip file", e.Message);
    }

    [Fact]
    public void Wrong_magic_number_names_the_file_and_both_numbers()
    {
        var path = Path.Combine(TestData.TempDir(), "labels");
        IdxReader.Write(path, IdxReader.ImageMagic, [1, 28, 28], new byte[784]);
        var e = Fails(() => IdxReader.ReadLabels(path));
        Assert.Equal($"{path}: wrong magic number 0x00000803 (an IDX labels file has 0x00000801)", e.Message);
    }

    [Fact]
    public void Header_count_larger_than_the_data_is_reported()
    {
        var path = Path.Combine(TestData.TempDir(), "imgs");
        IdxReader.Write(path, IdxReader.ImageMagic, [3, 28, 28], new byte[2 * 784]);
        var e = Fails(() => IdxReader.ReadImages(path));
        Assert.Contains("header says 3 images but the file ends after 1568 of 2352 data bytes", e.Message);
    }

    [Fact]
    public void Extra_data_after_the_promised_count_is_reported()
    {
        var path = Path.Combine(TestData.TempDir(), "labels");
        IdxReader.Write(path, IdxReader.LabelMagic, [2], [1, 2, 3]);
        Assert.Contains("header says 2 labels but the file has more data after them", Fails(() => IdxReader.ReadLabels(path)).Message);
    }

    [Fact]
    public void Wrong_image_size_is_reported()
    {
        var path = Path.Combine(TestData.TempDir(), "imgs");
        IdxReader.Write(path, IdxReader.ImageMagic, [1, 32, 32], new byte[1024]);
        Assert.Equal($"{path}: images are 32x32, expected 28x28", Fails(() => IdxReader.ReadImages(path)).Message);
    }

    [Fact]
    public void Label_out_of_range_is_reported_with_its_index()
    {
        var path = Path.Combine(TestData.TempDir(), "labels.gz");
        IdxReader.Write(path, IdxReader.LabelMagic, [3], [1, 12, 2]);
        Assert.Equal($"{path}: label 12 at index 1 is out of range 0-9", Fails(() => IdxReader.ReadLabels(path)).Message);
    }

    [Fact]
    public void Corrupt_gzip_body_is_reported()
    {
        var path = Path.Combine(TestData.TempDir(), "imgs.gz");
        IdxReader.Write(path, IdxReader.ImageMagic, [20, 28, 28], TestData.Random(20, 3).Images);
        var bytes = File.ReadAllBytes(path);
        for (int i = 20; i < 60; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        var e = Fails(() => IdxReader.ReadImages(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.True(e.Problem is "corrupt gzip data" or "truncated gzip file", e.Problem);
    }

    [Fact]
    public void Image_and_label_counts_must_agree()
    {
        var dir = TestData.WriteDataset(TestData.Random(5, 4), TestData.Random(3, 5));
        IdxReader.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), IdxReader.LabelMagic, [4], [1, 2, 3, 4]);
        var e = Fails(() => DataFiles.Load(dir));
        Assert.Equal($"{Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")}: 4 labels but 3 images in t10k-images-idx3-ubyte.gz", e.Message);
    }

    [Fact]
    public void Missing_file_is_reported()
    {
        var dir = TestData.WriteDataset(TestData.Random(5, 4), TestData.Random(3, 5));
        File.Delete(Path.Combine(dir, "train-labels-idx1-ubyte.gz"));
        Assert.Equal($"{Path.Combine(dir, "train-labels-idx1-ubyte.gz")}: file not found", Fails(() => DataFiles.Load(dir)).Message);
    }

    [Fact]
    public void Data_dir_that_is_a_file_is_reported()
    {
        var file = Path.Combine(TestData.TempDir(), "not-a-dir");
        File.WriteAllText(file, "x");
        Assert.Equal($"{file}: is a file, not a directory", Fails(() => new DataLocator().Locate(file)).Message);
    }

    [Fact]
    public void Real_data_loads_with_official_content()
    {
        var data = TestData.Fashion;
        Assert.Equal(60000, data.Train.Count);
        Assert.Equal(10000, data.Test.Count);
        Assert.All(data.Train.ClassCounts(), c => Assert.Equal(6000, c));
        Assert.All(DataFiles.Checksums(data.Directory), s => Assert.True(s.OfficialContent, s.File));
    }

    [Fact]
    public void Other_idx_data_is_accepted_and_reported_as_not_official()
    {
        var dir = TestData.WriteDataset(TestData.Random(30, 6), TestData.Random(10, 7));
        var data = DataFiles.Load(dir);
        Assert.Equal(30, data.Train.Count);
        Assert.All(DataFiles.Checksums(dir), s => Assert.False(s.OfficialContent));
    }

    [Fact]
    public void Gzip_written_by_other_tools_reads_the_same()
    {
        var set = TestData.Random(4, 8);
        var dir = TestData.TempDir();
        var raw = Path.Combine(dir, "raw");
        IdxReader.Write(raw, IdxReader.ImageMagic, [4, 28, 28], set.Images);
        var gz = Path.Combine(dir, "best.gz");
        using (var src = File.OpenRead(raw))
        using (var dst = new GZipStream(File.Create(gz), CompressionLevel.SmallestSize))
            src.CopyTo(dst);
        Assert.Equal(set.Images, IdxReader.ReadImages(gz));
    }
}
