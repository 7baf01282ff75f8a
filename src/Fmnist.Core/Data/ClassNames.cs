namespace Fmnist.Data;

/// <summary>The ten Fashion-MNIST classes, in label order.</summary>
public static class ClassNames
{
    public static readonly IReadOnlyList<string> All =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    public const int Count = 10;
}
