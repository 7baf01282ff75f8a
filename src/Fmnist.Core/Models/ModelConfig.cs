using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Fmnist.Models;

/// <summary>
/// A network's sizes and rates. Each network has its own record (in its folder, <see cref="INetwork"/>); in
/// config.json it is one "model" object keyed by "arch". Files written before "arch" existed load as the seed's
/// CNN+LSTM, and files from when one flat record held every network's fields load with the other networks' fields
/// ignored.
/// </summary>
[JsonConverter(typeof(ModelConfigJson))]
public abstract record ModelConfig
{
    private protected ModelConfig() { }

    /// <summary>The network family: "cnn-lstm", "resnet" or "speed".</summary>
    public abstract string Arch { get; }

    /// <summary>The sizes that matter for this network, for one-line messages.</summary>
    public abstract string Describe();

    /// <summary>Checks the sizes (the network's settings, <see cref="INetwork.Settings"/>); throws
    /// <see cref="FmnistException"/> naming the first bad one.</summary>
    public void Validate()
    {
        var config = new Training.TrainConfig { Model = this };
        foreach (var s in Networks.Of(this).Settings)
            if (s.Problem(config) is { } problem) throw new FmnistException(problem);
        ValidateFixed();
    }

    /// <summary>Checks the sizes no option sets (a config file may).</summary>
    private protected virtual void ValidateFixed() { }

    private sealed class ModelConfigJson : JsonConverter<ModelConfig>
    {
        public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(ModelConfig);

        public override ModelConfig Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var node = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("the model settings must be a JSON object");
            var arch = node["arch"]?.GetValue<string>() ?? "cnn-lstm";
            var network = Networks.Find(arch) ?? throw new JsonException($"unknown architecture '{arch}' (known: {string.Join(", ", Networks.Names)})");
            node.Remove("arch");
            return (ModelConfig)(node.Deserialize(network.ConfigType, options) ?? throw new JsonException("empty model settings"));
        }

        public override void Write(Utf8JsonWriter writer, ModelConfig value, JsonSerializerOptions options)
        {
            var fields = JsonSerializer.SerializeToNode(value, value.GetType(), options)!.AsObject();
            var node = new JsonObject { ["arch"] = value.Arch };
            foreach (var (key, field) in fields)
                if (key != "arch") node[key] = field?.DeepClone();
            node.WriteTo(writer, options);
        }
    }
}
