namespace Fmnist.Data;

/// <summary>The one image size of Fashion-MNIST: every 28 in fmnist comes from here.</summary>
internal static class ImageShape
{
    public const int Side = 28;
    public const int Pixels = Side * Side;
}
