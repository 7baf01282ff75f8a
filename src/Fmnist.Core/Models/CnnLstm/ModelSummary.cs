using Fmnist.Models.ResNet;
using static TorchSharp.torch;

namespace Fmnist.Models.CnnLstm;

internal sealed record SummaryRow(string Layer, string Type, string OutputShape, long Parameters);

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

/// <summary>A Keras-style layer table. Parameter counts come from the real modules.</summary>
internal static class ModelSummary
{
    public static ModelSummaryTable Of(nn.Module<Tensor, Tensor> net, ModelConfig c)
    {
        var rows = c.Arch switch { ModelArch.ResNet => ResNetRows(net, c), ModelArch.Speed => SpeedRows(net, c), _ => CnnLstmRows(net, c) };
        long total = ModelFactory.Parameters(net);
        long trainable = net.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        return new ModelSummaryTable(rows, total, trainable, ModelFactory.ForwardFlops(c));
    }

    private static List<SummaryRow> CnnLstmRows(nn.Module<Tensor, Tensor> net, ModelConfig c)
    {
        var counts = net.named_children().ToDictionary(m => m.name, m => m.module.parameters().Sum(p => p.numel()));
        long P(string name) => counts.TryGetValue(name, out var n) ? n : 0;
        int f1 = c.Filters1, f2 = c.Filters2, h = c.Lstm;
        var rows = new List<SummaryRow>
        {
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("conv1a", "Conv2d 3x3 + ReLU", $"(B, {f1}, 28, 28)", P("conv1a")),
            new("conv1b", "Conv2d 3x3 + ReLU", $"(B, {f1}, 28, 28)", P("conv1b")),
            new("bn1", "BatchNorm2d", $"(B, {f1}, 28, 28)", P("bn1")),
            new("pool1", "MaxPool2d 2", $"(B, {f1}, 14, 14)", 0),
            new("conv2a", "Conv2d 3x3 + ReLU", $"(B, {f2}, 14, 14)", P("conv2a")),
            new("conv2b", "Conv2d 3x3 + ReLU", $"(B, {f2}, 14, 14)", P("conv2b")),
            new("bn2", "BatchNorm2d", $"(B, {f2}, 14, 14)", P("bn2")),
            new("pool2", "MaxPool2d 2", $"(B, {f2}, 7, 7)", 0),
            new("rows", "Reshape (rows->steps)", $"(B, 7, {f2 * 7})", 0),
            new("lstm", "LSTM", $"(B, 7, {h})", P("lstm")),
            new("flatten", "Flatten", $"(B, {7 * h})", 0),
            new("dropout1", $"Dropout {c.Dropout1}", $"(B, {7 * h})", 0),
            new("dense", "Linear + ReLU", $"(B, {c.Dense})", P("dense")),
            new("dropout2", $"Dropout {c.Dropout2}", $"(B, {c.Dense})", 0),
            new("output", "Linear + Softmax", "(B, 10)", P("output")),
        };
        return rows;
    }

    /// <summary>The whitening layer, then one row per conv group.</summary>
    private static List<SummaryRow> SpeedRows(nn.Module<Tensor, Tensor> net, ModelConfig c)
    {
        var counts = net.named_modules().ToDictionary(m => m.name, m => m.module.parameters().Sum(p => p.numel()));
        long P(string name) => counts.TryGetValue(name, out var n) ? n : 0;
        int ws = Speed.SpeedShape.WhitenSide(c), wc = Speed.SpeedShape.WhitenChannels(c);
        var rows = new List<SummaryRow>
        {
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("whiten", $"Conv2d {c.WhitenPatch}x{c.WhitenPatch} frozen + GELU", $"(B, {wc}, {ws}, {ws})", P("whiten")),
        };
        for (int g = 0; g < c.Widths.Count; g++)
        {
            int side = Speed.SpeedShape.SideAfter(c, g);
            rows.Add(new($"g{g + 1}", $"ConvGroup x{c.Depth} + pool", $"(B, {c.Widths[g]}, {side}, {side})", P($"groups.g{g + 1}")));
        }
        rows.Add(new("pool", "Global max pool", $"(B, {c.Widths[^1]})", 0));
        rows.Add(new("output", FormattableString.Invariant($"Linear x {c.LogitScale:0.###}"), "(B, 10)", P("output")));
        return rows;
    }

    /// <summary>One row per residual block (its shortcut included), from the config's shapes.</summary>
    private static List<SummaryRow> ResNetRows(nn.Module<Tensor, Tensor> net, ModelConfig c)
    {
        var counts = net.named_modules().ToDictionary(m => m.name, m => m.module.parameters().Sum(p => p.numel()));
        long P(string name) => counts.TryGetValue(name, out var n) ? n : 0;
        var rows = new List<SummaryRow>
        {
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("stem", "Conv2d 3x3 + BN + ReLU", $"(B, {c.Width}, 28, 28)", P("stem") + P("stemBn")),
        };
        foreach (var conv in ResNetShape.Convs(c).Where(v => v.Layer.EndsWith(".conv2")))
        {
            string block = conv.Layer[..^".conv2".Length];
            bool projected = ResNetShape.Convs(c).Any(v => v.Layer == block + ".shortcut");
            rows.Add(new(block, projected ? "BasicBlock (1x1 proj)" : "BasicBlock", $"(B, {conv.Out}, {conv.OutSide}, {conv.OutSide})", P("stages." + block)));
        }
        rows.Add(new("pool", "Global average pool", $"(B, {ResNetShape.FinalChannels(c)})", 0));
        rows.Add(new("output", "Linear + Softmax", "(B, 10)", P("output")));
        return rows;
    }
}
