using Fmnist.Export;
using TorchSharp.Modules;

namespace Fmnist.Models.Speed;

/// <summary>
/// <see cref="SpeedNet"/> as ONNX nodes, in the order of its forward(), in inference form: the frozen
/// whitening conv, GELU (as Erf arithmetic: opset 17 has no Gelu), each group's convs with BatchNormalization
/// nodes (the first BN of a group follows its max-pool, so it is kept as a node rather than folded into the
/// conv), a global max-pool and the bias-free linear layer times the logit scale. Its input is the
/// standardized image; OnnxExporter adds the normalization, views and outputs around it.
/// </summary>
internal static class SpeedOnnx
{
    public static string Body(OnnxGraphBuilder g, SpeedNet net, SpeedConfig config, string x)
    {
        var W = ModuleWeights.Lookup(net, "speed network", config);
        var modules = net.named_modules().ToDictionary(m => m.name, m => m.module);
        // (B,1,28,28) -> (B,2p²,28-p+1,..)
        x = g.Gelu(g.Conv(x, "whiten", W("whiten.weight"), W("whiten.bias"), padding: 0));
        for (int group = 1; group <= config.Widths.Count; group++)
        {
            for (int i = 0; i < config.Depth; i++)
            {
                string conv = $"groups.g{group}.convs.{i}", bn = $"groups.g{group}.norms.{i}";
                x = g.Conv(x, conv, W($"{conv}.weight"), null, padding: 1);
                if (i == 0) x = g.MaxPool(x, 2);
                x = g.Gelu(g.BatchNorm(x, bn, W($"{bn}.weight"), W($"{bn}.bias"), W($"{bn}.running_mean"), W($"{bn}.running_var"),
                    ((BatchNorm2d)modules[bn]).eps));
            }
        }
        // (B,C,s,s) -> (B,C)
        x = g.GlobalMaxPool(x);
        // (B,C) -> (B,10): no bias in the network, a zero one for Gemm
        var weight = W("output.weight");
        var logits = g.Linear(x, "output", weight, new Weights(new float[weight.Shape[0]], [weight.Shape[0]]));
        return g.Node("Mul", [logits, g.Scalar("logit_scale", (float)config.LogitScale)]);
    }
}
