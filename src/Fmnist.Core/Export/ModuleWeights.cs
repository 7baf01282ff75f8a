namespace Fmnist.Export;

/// <summary>A module's parameters and buffers (its state_dict) copied to float arrays.</summary>
internal static class ModuleWeights
{
    /// <summary>The network's weights by state_dict key; a missing key is the project's one-line error
    /// naming <paramref name="network"/> and its config.</summary>
    public static Func<string, Weights> Lookup(TorchSharp.torch.nn.Module module, string network, Models.ModelConfig config)
    {
        var p = Of(module);
        return key => p.TryGetValue(key, out var w) ? w
            : throw new FmnistException($"{network} weights have no '{key}': the network does not match its config ({config.Describe()})");
    }

    public static IReadOnlyDictionary<string, Weights> Of(TorchSharp.torch.nn.Module module)
    {
        var result = new Dictionary<string, Weights>();
        using var scope = TorchSharp.torch.NewDisposeScope();
        foreach (var (name, t) in module.state_dict())
        {
            if (!t.is_floating_point()) continue; // BatchNorm's num_batches_tracked: training bookkeeping only
            var values = t.detach().cpu().to_type(TorchSharp.torch.ScalarType.Float32).contiguous().data<float>().ToArray();
            result[name] = new Weights(values, t.shape);
        }
        return result;
    }
}
