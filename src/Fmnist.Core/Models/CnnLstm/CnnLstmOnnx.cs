using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Export;
using TorchSharp.Modules;

namespace Fmnist.Models.CnnLstm;

/// <summary>
/// <see cref="CnnLstmNet"/> as an ONNX graph, layer for layer in the order of its forward(), in inference
/// form: Dropout is the identity and disappears; BatchNorm uses its running statistics. BatchNorm stays a
/// node of its own: in this network it follows a ReLU, so it cannot be folded into the preceding conv.
/// Its input is the standardized image; OnnxExporter adds the normalization, views and outputs around it.
/// </summary>
internal static class CnnLstmOnnx
{
    public static string Body(OnnxGraphBuilder g, CnnLstmNet net, string x)
    {
        var p = ModuleWeights.Of(net);
        var modules = net.named_modules().ToDictionary(m => m.name, m => m.module);
        string Conv(string x, string name) =>
            g.Relu(g.Conv(x, name, p[$"{name}.weight"], p[$"{name}.bias"], padding: (int)p[$"{name}.weight"].Shape[^1] / 2));
        string Bn(string x, string name) =>
            g.BatchNorm(x, name, p[$"{name}.weight"], p[$"{name}.bias"], p[$"{name}.running_mean"], p[$"{name}.running_var"],
                ((BatchNorm2d)modules[name]).eps);

        // (B,1,28,28) -> (B,F1,14,14)
        x = g.MaxPool(Bn(Conv(Conv(x, "conv1a"), "conv1b"), "bn1"), 2);
        // (B,F1,14,14) -> (B,F2,7,7)
        x = g.MaxPool(Bn(Conv(Conv(x, "conv2a"), "conv2b"), "bn2"), 2);
        // (B,F2,7,7) -> (7,B,F2,7) -> (7,B,F2*7): each row of the feature map is one LSTM step, sequence first
        x = g.Reshape(g.Transpose(x, 2, 0, 1, 3), 0, 0, -1);
        // (7,B,F2*7) -> (7,1,B,H)
        x = g.Lstm(x, "lstm", p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"], p["lstm.bias_ih_l0"], p["lstm.bias_hh_l0"]);
        // (7,1,B,H) -> (B,7,1,H) -> (B,7H): all steps, batch first again, as the dense layer saw them in training
        x = g.Reshape(g.Transpose(x, 2, 0, 1, 3), 0, -1);
        x = g.Relu(g.Linear(x, "dense", p["dense.weight"], p["dense.bias"]));
        var logits = g.Linear(x, "output", p["output.weight"], p["output.bias"]);
        return logits;
    }
}
