using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Models.CnnLstm;

/// <summary>
/// The seed's network: two conv blocks (conv-relu-conv-relu-batchnorm-maxpool), the 7 rows of the last
/// feature map read as a 7-step sequence by an LSTM, then dropout-dense-relu-dropout-dense.
/// Outputs logits; softmax is applied by the caller (it is folded into the loss when training).
/// </summary>
internal sealed class CnnLstmNet : nn.Module<Tensor, Tensor>, ILayoutNet
{
    private readonly Conv2d conv1a, conv1b, conv2a, conv2b;
    private readonly BatchNorm2d bn1, bn2;
    private readonly MaxPool2d pool;
    private readonly LSTM lstm;
    private readonly Dropout dropout1, dropout2;
    private readonly Linear dense, output;

    public CnnLstmNet(CnnLstmConfig c) : base("CnnLstm")
    {
        c.Validate();
        conv1a = nn.Conv2d(1, c.Filters1, 3, padding: 1);
        conv1b = nn.Conv2d(c.Filters1, c.Filters1, 3, padding: 1);
        bn1 = nn.BatchNorm2d(c.Filters1);
        conv2a = nn.Conv2d(c.Filters1, c.Filters2, 3, padding: 1);
        conv2b = nn.Conv2d(c.Filters2, c.Filters2, 3, padding: 1);
        bn2 = nn.BatchNorm2d(c.Filters2);
        pool = nn.MaxPool2d(2);
        lstm = nn.LSTM(c.Filters2 * 7, c.Lstm, batchFirst: true);
        dropout1 = nn.Dropout(c.Dropout1);
        dense = nn.Linear(7 * c.Lstm, c.Dense);
        dropout2 = nn.Dropout(c.Dropout2);
        output = nn.Linear(c.Dense, 10);
        RegisterComponents();

        using var _ = no_grad();
        foreach (var conv in new[] { conv1a, conv1b, conv2a, conv2b })
        {
            nn.init.uniform_(conv.weight, -c.ConvInitRange, c.ConvInitRange);
            nn.init.zeros_(conv.bias);
        }
        foreach (var linear in new[] { dense, output })
        {
            nn.init.xavier_uniform_(linear.weight); // Keras' Dense default (glorot_uniform, zero bias)
            nn.init.zeros_(linear.bias);
        }
    }

    /// <inheritdoc/>
    public bool ChannelsLast { get; set; }

    public override Tensor forward(Tensor x)
    {
        // In-place ReLU: conv outputs are not needed for backward, and each one is a 25 MB activation
        // at batch 256 that would otherwise be kept alongside its ReLU.
        if (ChannelsLast) x = LayoutChoice.ToChannelsLast(x);
        // (B,1,28,28) -> (B,F1,14,14)
        x = pool.call(bn1.call(conv1b.call(conv1a.call(x).relu_()).relu_()));
        // (B,F1,14,14) -> (B,F2,7,7)
        x = pool.call(bn2.call(conv2b.call(conv2a.call(x).relu_()).relu_()));
        // (B,F2,7,7) -> (B,7,F2*7): each row of the feature map is one LSTM step
        x = x.permute(0, 2, 1, 3).reshape(x.shape[0], 7, -1);
        // (B,7,F2*7) -> (B,7,H) -> (B,7H): all steps are kept, as in the seed (return_sequences)
        x = lstm.call(x, null).Item1.reshape(x.shape[0], -1);
        x = nn.functional.relu(dense.call(dropout1.call(x)));
        return output.call(dropout2.call(x));
    }
}
