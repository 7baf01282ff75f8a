using Fmnist.Data;

namespace Fmnist.Tests;

public class ClassFolderTests
{
    [Theory]
    [InlineData("tshirt-top", 0)]
    [InlineData("T-shirt_top", 0)]
    [InlineData("T-SHIRT TOP", 0)]
    [InlineData("0", 0)]
    [InlineData("trouser", 1)]
    [InlineData("ankle-boot", 9)]
    [InlineData("Ankle_Boot", 9)]
    [InlineData("9", 9)]
    [InlineData("bag", 8)]
    public void Match_IgnoresCaseAndPunctuation_OrTakesTheIndex(string name, int label) => Assert.Equal(label, ClassFolders.Match(name));

    [Theory]
    [InlineData("trousers")]
    [InlineData("boot")]
    [InlineData("10")]
    [InlineData("")]
    public void Match_RefusesWhatNamesNoClass(string name) => Assert.Null(ClassFolders.Match(name));

    [Fact]
    public void FolderNames_MatchTheirOwnClass()
    {
        for (int c = 0; c < ClassNames.Count; c++) Assert.Equal(c, ClassFolders.Match(ClassFolders.FolderName(c)));
        Assert.Equal("tshirt-top", ClassFolders.FolderName(0));
        Assert.Equal("ankle-boot", ClassFolders.FolderName(9));
    }

    [Fact]
    public void Read_LabelsEveryPhoto_AndNamesAFolderThatMatchesNothing()
    {
        var root = TestData.TempDir();
        foreach (var (dir, file) in new[] { ("Sneaker", "a.png"), ("sneaker2", "b.png") })
        {
            Directory.CreateDirectory(Path.Combine(root, dir));
            File.WriteAllBytes(Path.Combine(root, dir, file), [1]);
        }
        var e = Assert.Throws<FmnistException>(() => ClassFolders.Read(root));
        Assert.Contains("sneaker2: the folder name matches no class", e.Message);

        Directory.Delete(Path.Combine(root, "sneaker2"), true);
        Directory.CreateDirectory(Path.Combine(root, "8", "nested"));
        File.WriteAllBytes(Path.Combine(root, "8", "nested", "c.JPG"), [1]);
        File.WriteAllBytes(Path.Combine(root, "8", "notes.txt"), [1]);
        var read = ClassFolders.Read(root);
        Assert.Equal([(8, "c.JPG"), (7, "a.png")], read.Select(r => (r.Label, Path.GetFileName(r.File))).ToList());
    }
}
