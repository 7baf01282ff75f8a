using Fmnist.Export;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Models;

/// <summary>A row of the layer table `summary` prints and run folders keep.</summary>
internal sealed record SummaryRow(string Layer, string Type, string OutputShape, long Parameters);

/// <summary>
/// One network family and everything fmnist knows about it, kept in its folder: its config record, its settings, the
/// module, the layer table, the analytic FLOP count, the ONNX body, the layer Grad-CAM reads, and the data its
/// initialisation needs. <see cref="Networks"/> lists them, one line each.
/// </summary>
internal interface INetwork
{
    /// <summary>Its name in config.json's "arch" and in --arch.</summary>
    string Name { get; }
    /// <summary>What it is, in a few words for --help.</summary>
    string About { get; }
    /// <summary>Its config record's type.</summary>
    Type ConfigType { get; }
    /// <summary>Its config when --arch switches to it.</summary>
    ModelConfig Default { get; }
    /// <summary>Its own settings (the other networks refuse them).</summary>
    IReadOnlyList<Setting> Settings { get; }
    /// <summary>The submodule whose output is its last convolutional feature map (Grad-CAM's layer).</summary>
    string GradCamLayer { get; }
    /// <summary>How many training images its data-dependent initialisation (<see cref="Initialise"/>) needs; 0 for none.</summary>
    int InitImages => 0;

    /// <summary>A new module (random weights, train mode).</summary>
    nn.Module<Tensor, Tensor> Create(ModelConfig c);
    /// <summary>Forward FLOPs per image (2 per multiply-add), from the layer sizes.</summary>
    long ForwardFlops(ModelConfig c);
    /// <summary>The layer table, parameter counts read from the real module.</summary>
    IReadOnlyList<SummaryRow> Summary(nn.Module<Tensor, Tensor> net, ModelConfig c);
    /// <summary>Its layers as ONNX nodes from the standardized image <paramref name="x"/>; returns the logits.</summary>
    string OnnxBody(OnnxGraphBuilder g, nn.Module<Tensor, Tensor> net, ModelConfig c, string x);
    /// <summary>Data-dependent initialisation from <see cref="InitImages"/> standardized training images (B,1,28,28).</summary>
    void Initialise(nn.Module<Tensor, Tensor> net, Tensor images) { }
}

/// <summary>An <see cref="INetwork"/> with its own config and module types, so that each folder's code is typed.</summary>
internal abstract class Network<TConfig, TNet> : INetwork where TConfig : ModelConfig, new() where TNet : nn.Module<Tensor, Tensor>
{
    public string Name => Default.Arch;
    public Type ConfigType => typeof(TConfig);
    public ModelConfig Default { get; } = new TConfig();
    public abstract string About { get; }
    public abstract IReadOnlyList<Setting> Settings { get; }
    public abstract string GradCamLayer { get; }
    public virtual int InitImages => 0;

    public nn.Module<Tensor, Tensor> Create(ModelConfig c) => Create((TConfig)c);
    public long ForwardFlops(ModelConfig c) => ForwardFlops((TConfig)c);
    public IReadOnlyList<SummaryRow> Summary(nn.Module<Tensor, Tensor> net, ModelConfig c) => Summary((TNet)net, (TConfig)c);
    public string OnnxBody(OnnxGraphBuilder g, nn.Module<Tensor, Tensor> net, ModelConfig c, string x) => OnnxBody(g, (TNet)net, (TConfig)c, x);
    public void Initialise(nn.Module<Tensor, Tensor> net, Tensor images) => Initialise((TNet)net, images);

    protected abstract TNet Create(TConfig c);
    protected abstract long ForwardFlops(TConfig c);
    protected abstract IReadOnlyList<SummaryRow> Summary(TNet net, TConfig c);
    protected abstract string OnnxBody(OnnxGraphBuilder g, TNet net, TConfig c, string x);
    protected virtual void Initialise(TNet net, Tensor images) { }

    /// <summary>A setting of this network's config: read from it (its default where the config is another network's),
    /// set on it (nothing changes where it is another network's: the refusal says why); checked by <paramref name="check"/>
    /// (what the value must be) and <paramref name="rule"/> (a full message, when other sizes matter).</summary>
    protected static Setting<T> Own<T>(string name, Func<TConfig, T> get, Func<TConfig, T, TConfig> set, string help,
        Func<T, string?>? check = null, Func<TConfig, string?>? rule = null, Func<T, string>? display = null) =>
        new(name, c => get(c.Model as TConfig ?? new TConfig()), (c, v) => c.Model is TConfig m ? c with { Model = set(m, v) } : c, help)
        {
            Network = new TConfig().Arch,
            Check = check ?? (_ => null),
            Rule = c => c.Model is TConfig m && rule is not null ? rule(m) : null,
            Display = display,
        };

    /// <summary>Parameter counts by module name (nested names included), for the layer table.</summary>
    protected static Func<string, long> Counts(TNet net)
    {
        var counts = net.named_modules().ToDictionary(m => m.name, m => m.module.parameters().Sum(p => p.numel()));
        return name => counts.TryGetValue(name, out var n) ? n : 0;
    }
}

/// <summary>The networks fmnist trains: one line each.</summary>
internal static class Networks
{
    public static readonly IReadOnlyList<INetwork> All =
    [
        new CnnLstm.CnnLstmNetwork(),
        new ResNet.ResNetNetwork(),
        new Speed.SpeedNetwork(),
        new LeNet.LeNetNetwork(),
    ];

    /// <summary>Their names, for --arch and messages.</summary>
    public static IReadOnlyList<string> Names => All.Select(n => n.Name).ToList();

    /// <summary>The network called <paramref name="name"/>, or null.</summary>
    public static INetwork? Find(string name) => All.FirstOrDefault(n => n.Name == name);

    /// <summary>The network <paramref name="c"/> configures.</summary>
    public static INetwork Of(ModelConfig c) => All.First(n => n.ConfigType == c.GetType());
}
