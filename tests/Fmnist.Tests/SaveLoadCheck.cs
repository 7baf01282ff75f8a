using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>save -> load into a fresh network of the same config must give bit-identical outputs.</summary>
public static class SaveLoadCheck
{
    public static void AssertRoundTrip(Func<nn.Module<Tensor, Tensor>> create)
    {
        using var a = create();
        // Move BatchNorm running statistics off their initial values so they are part of the check.
        a.train();
        using (var warm = randn(8, 1, 28, 28)) a.call(warm).Dispose();
        a.eval();
        var path = Path.Combine(TestData.TempDir(), "m.pt");
        a.save(path);
        using var b = create();
        b.load(path);
        b.eval();
        using var x = randn(5, 1, 28, 28);
        using var ya = a.call(x);
        using var yb = b.call(x);
        Assert.Equal(ya.data<float>().ToArray(), yb.data<float>().ToArray());
    }
}
