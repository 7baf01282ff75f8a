using Fmnist.Training;

namespace Fmnist.Models.CnnLstm;

/// <summary>The CNN+LSTM's own settings (<see cref="Setting"/>); the other networks refuse them.</summary>
internal static class CnnLstmSettings
{
    public static readonly IReadOnlyList<Setting> All =
    [
        new Setting<int>("lstm", c => c.Model.Lstm, (c, v) => c with { Model = c.Model with { Lstm = v } }, "LSTM hidden size")
        { Check = Must.In(1, 4096), Network = ModelArch.CnnLstm },
        new Setting<int>("dense", c => c.Model.Dense, (c, v) => c with { Model = c.Model with { Dense = v } }, "First dense layer size")
        { Check = Must.In(1, 4096), Network = ModelArch.CnnLstm },
        new Setting<double>("dropout1", c => c.Model.Dropout1, (c, v) => c with { Model = c.Model with { Dropout1 = v } }, "Dropout before the first dense layer")
        { Check = Must.In(0.0, 1.0, openHigh: true), Network = ModelArch.CnnLstm },
        new Setting<double>("dropout2", c => c.Model.Dropout2, (c, v) => c with { Model = c.Model with { Dropout2 = v } }, "Dropout before the output layer")
        { Check = Must.In(0.0, 1.0, openHigh: true), Network = ModelArch.CnnLstm },
    ];
}
