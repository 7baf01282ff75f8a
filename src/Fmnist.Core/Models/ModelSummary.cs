using static TorchSharp.torch;

namespace Fmnist.Models;

internal sealed record ModelSummaryTable(IReadOnlyList<SummaryRow> Rows, long TotalParameters, long TrainableParameters, long ForwardFlops)
{
    public string ToText()
    {
        var lines = new List<string> { $"{"Layer",-12} {"Type",-22} {"Output shape",-18} {"Params",10}", new string('-', 65) };
        lines.AddRange(Rows.Select(r => $"{r.Layer,-12} {r.Type,-22} {r.OutputShape,-18} {r.Parameters,10:N0}"));
        lines.Add(new string('-', 65));
        lines.Add($"Total params: {TotalParameters:N0} (trainable {TrainableParameters:N0})");
        lines.Add($"Forward: {ForwardFlops / 1e6:F1} MFLOP per image");
        return string.Join('\n', lines) + "\n";
    }
}

/// <summary>A Keras-style layer table. Parameter counts come from the real modules; the rows from the network's folder.</summary>
internal static class ModelSummary
{
    public static ModelSummaryTable Of(nn.Module<Tensor, Tensor> net, ModelConfig c)
    {
        long total = ModelFactory.Parameters(net);
        long trainable = net.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        return new ModelSummaryTable(Networks.Of(c).Summary(net, c), total, trainable, ModelFactory.ForwardFlops(c));
    }
}
