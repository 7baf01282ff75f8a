using Fmnist.Models.CnnLstm;
using Fmnist.Training;

namespace Fmnist.Models.ResNet;

/// <summary>The ResNet's own settings (<see cref="Setting"/>); the other networks refuse them.</summary>
internal static class ResNetSettings
{
    public static readonly IReadOnlyList<Setting> All =
    [
        new Setting<int>("width", c => c.Model.Width, (c, v) => c with { Model = c.Model with { Width = v } },
            "ResNet: channels of the first stage, doubled at each later stage")
        { Check = Must.In(1, 1024), Network = ModelArch.ResNet },
        // 28 -> 14 -> 7 -> 4: a fourth stage still has a 4x4 map; a fifth would be 2x2.
        new Setting<IReadOnlyList<int>>("blocks", c => c.Model.Blocks, (c, v) => c with { Model = c.Model with { Blocks = v } },
            "ResNet: residual blocks per stage (stages at 28, 14, 7, 4 pixels)")
        { Check = b => b.Count is >= 1 and <= 4 && b.All(n => n is >= 1 and <= 16) ? null : "1 to 4 stages of 1..16 blocks", Network = ModelArch.ResNet },
    ];
}
