namespace Fmnist.Data;

/// <summary>The ten Fashion-MNIST classes, in label order.</summary>
public static class ClassNames
{
    /// <summary>The class names; index = label.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    /// <summary>The number of classes (10).</summary>
    public const int Count = 10;
}
