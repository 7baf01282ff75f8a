using Fmnist.Export;
using Fmnist.Data;
using Fmnist.Features;
using TorchSharp.Modules;

namespace Fmnist.Models.ResNet;

/// <summary>
/// <see cref="ResNetNet"/> as an ONNX graph, in the order of its forward(), in inference form. Every
/// BatchNorm of this network directly follows a bias-free conv (stem, conv1, conv2, shortcut conv), so each
/// is folded into that conv: one Conv with a bias instead of Conv + BatchNormalization. The graph is then
/// the same for every runtime and optimization level (ONNX Runtime would fuse them itself only at its
/// "basic" level and above, onnxruntime-web or a plain interpreter may not). Folded initializers are named
/// after the conv with "_bn" appended, because their values are no longer the PyTorch parameter's.
/// Its input is the standardized image; OnnxExporter adds the normalization, views and outputs around it.
/// </summary>
internal static class ResNetOnnx
{
    public static string Body(OnnxGraphBuilder g, ResNetNet net, ResNetConfig config, string x)
    {
        var W = ModuleWeights.Lookup(net, "ResNet", config);
        var modules = net.named_modules().ToDictionary(m => m.name, m => m.module);
        // conv (no bias) then BatchNorm, folded into one Conv; padding keeps the side for 3x3 and is 0 for 1x1
        string ConvBn(string x, string conv, string bn, int stride)
        {
            var weight = W($"{conv}.weight");
            var (w, b) = OnnxGraphBuilder.FoldBatchNorm(weight, W($"{bn}.weight"), W($"{bn}.bias"),
                W($"{bn}.running_mean"), W($"{bn}.running_var"), ((BatchNorm2d)modules[bn]).eps);
            return g.Conv(x, $"{conv}_bn", w, b, padding: (int)weight.Shape[^1] / 2, stride: stride);
        }

        // (B,1,28,28) -> (B,W,28,28)
        x = g.Relu(ConvBn(x, "stem", "stemBn", 1));
        // The blocks as ResNetShape lists them (the same loop that built the network): name, stride, shortcut.
        // (B,W,28,28) -> (B,W*2^(S-1),ceil(28/2^(S-1)),..)
        var shapes = ResNetShape.Convs(config);
        var convs = shapes.ToDictionary(c => c.Layer);
        foreach (var block in shapes.Select(c => c.Layer).Where(k => k.EndsWith(".conv1", StringComparison.Ordinal)).Select(k => k[..^".conv1".Length]))
        {
            var name = $"stages.{block}";
            int stride = convs[$"{block}.conv1"].Stride;
            var y = g.Relu(ConvBn(x, $"{name}.conv1", $"{name}.bn1", stride));
            y = ConvBn(y, $"{name}.conv2", $"{name}.bn2", 1);
            // the shortcut is the identity unless the block changes the shape: then a strided 1x1 conv + BN
            var skip = convs.TryGetValue($"{block}.shortcut", out var sc)
                ? ConvBn(x, $"{name}.shortcut.conv", $"{name}.shortcut.bn", sc.Stride) : x;
            x = g.Relu(g.Add(y, skip));
        }
        // (B,C,H,W) -> (B,C)
        x = g.GlobalAveragePool(x);
        // (B,C) -> (B,10)
        var logits = g.Linear(x, "output", W("output.weight"), W("output.bias"));
        return logits;
    }
}
