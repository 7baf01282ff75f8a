using System.Text.Json.Nodes;
using Fmnist.Training;
using Xunit;

namespace Fmnist.UnitTests;

/// <summary>Each setting is defined once (<see cref="Setting"/>); these check that the one definition is the one name,
/// value form and check everywhere: config.json, grid files, options and refusals.</summary>
public class SettingsTests
{
    /// <summary>The leaf names of a config as config.json writes it (model and augmentation flattened).</summary>
    private static HashSet<string> ConfigJsonNames(TrainConfig c)
    {
        var names = new HashSet<string>();
        void Walk(JsonObject o)
        {
            foreach (var (key, value) in o)
                if (value is JsonObject inner) Walk(inner); else names.Add(key);
        }
        Walk(JsonNode.Parse(JsonFiles.Serialize(c))!.AsObject());
        return names;
    }

    [Fact]
    public void Every_setting_is_named_in_config_json_as_in_grid_files_and_options()
    {
        // The speed levers and gradient clipping are left out of config.json while off: set them so they are written.
        var c = ConfigOverrides.Of(("arch", "speed"), ("optimizer", "sgd"), ("muon_lr", 0.1), ("muon_momentum", 0.5), ("bn_bias_lr_mult", 2),
            ("whiten_bias_epochs", 3), ("prune", 0.2), ("lookahead", 4), ("lookahead_alpha", 0.4), ("train_limit", 100), ("grad_clip", 1.0)).Apply(Presets.Get("fast"));
        var written = ConfigJsonNames(c);
        Assert.All(Settings.All.Where(s => s.Network is null), s => Assert.Contains(s.Name, written));
        // A network's own settings are in its own config (config.json holds only the chosen network's).
        foreach (var network in Models.Networks.All)
        {
            var own = ConfigJsonNames(new TrainConfig { Model = network.Default });
            Assert.All(network.Settings, s => Assert.Contains(s.Name, own));
            Assert.All(network.Settings, s => Assert.Equal(network.Name, s.Network));
        }
        Assert.All(Settings.All, s => Assert.Equal("--" + s.Name.Replace('_', '-'), s.Option));
        Assert.Equal(Settings.All.Length, Settings.All.Select(s => s.Name).Distinct().Count());
    }

    [Fact]
    public void Every_preset_passes_every_check_and_every_value_round_trips_through_grid_json()
    {
        foreach (var name in Presets.Names)
        {
            var preset = Presets.Get(name);
            preset.Validate();
            foreach (var s in Settings.All)
            {
                var text = s.Show(preset);
                if (text == "none") continue;
                var value = s.Parse(s.IsSwitch ? (text == "on" ? "true" : "false") : text);
                Assert.Equal(s.Show(preset), s.Show(s.Apply(preset, value))); // the words it shows parse back to the same value
                var again = s.FromJson(s.ToJson(value));
                Assert.Equal(s.ToJson(value)!.ToJsonString(), s.ToJson(again)!.ToJsonString());
            }
        }
    }

    [Theory]
    [InlineData("learning_rate", "2", "--learning-rate must be in (0, 1], got 2")]
    [InlineData("blocks", "1,1,1,1,1", "--blocks must be 1 to 4 stages of 1..16 blocks, got 1,1,1,1,1")]
    [InlineData("train_limit", "5", "--train-limit must be at least 20, got 5")]
    [InlineData("widths", "8,8,8,8,8,8", "--widths must be at most 4 groups after a 3x3 whitening, got 6")]
    public void A_bad_value_is_refused_in_the_settings_own_words(string name, string text, string message)
    {
        var s = Settings.Find(name);
        var c = s.Apply(Presets.Get(name is "widths" ? "fast" : "resnet"), s.Parse(text));
        Assert.Equal(message, Assert.Throws<FmnistException>(c.Validate).Message);
    }

    [Fact]
    public void Older_names_are_read_but_the_one_name_is_written()
    {
        var o = ConfigOverrides.Of(("lr", 0.01), ("flip", 0), ("erase", 0.5));
        Assert.Equal("""{"learning_rate":0.01,"flip_probability":0,"erase_probability":0.5}""", o.ToJson().ToJsonString());
        Assert.Equal(Settings.Find("flip_probability"), Settings.Find("--flip"));
        Assert.Contains("unknown setting 'colour'", Assert.Throws<FmnistException>(() => Settings.Find("colour")).Message);
    }

    [Fact]
    public void A_network_refuses_the_settings_of_another_and_the_optimizer_those_of_another()
    {
        var resnet = ConfigOverrides.Of(("lstm", 64));
        Assert.Equal("--lstm does not apply: only the cnn-lstm network has it, not the resnet network",
            Settings.Ignored(resnet, resnet.Apply(Presets.Get("resnet"))));
        var momentum = ConfigOverrides.Of(("momentum", 0.5));
        Assert.Equal("--momentum does not apply: only sgd uses it, the optimizer is adam", Settings.Ignored(momentum, momentum.Apply(Presets.Get("seed"))));
        Assert.Null(Settings.Ignored(momentum, momentum.Apply(Presets.Get("fast"))));
    }
}

/// <summary>config.json's "model" object: one record per network, keyed by "arch"; older files still load.</summary>
public class ModelConfigJsonTests
{
    private static Models.ModelConfig Read(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<TrainConfig>($$"""{"model":{{json}}}""", JsonFiles.Options)!.Model;

    [Fact]
    public void A_flat_file_from_before_the_per_network_records_loads_as_its_network()
    {
        // Written when one record held every network's fields: the other networks' fields are ignored.
        var flat = """{"arch":"resnet","filters1":32,"lstm":256,"dropout1":0.4,"width":16,"blocks":[1,2],"widths":[64,128],"depth":2}""";
        var resnet = Assert.IsType<Models.ResNet.ResNetConfig>(Read(flat));
        Assert.Equal((16, "1,2"), (resnet.Width, string.Join(",", resnet.Blocks)));
        Assert.Equal("""{"arch":"resnet","width":16,"blocks":[1,2]}""",
            System.Text.Json.JsonSerializer.Serialize(resnet, new System.Text.Json.JsonSerializerOptions(JsonFiles.Options) { WriteIndented = false }));
        // Written before "arch" existed: the seed's CNN+LSTM.
        Assert.Equal(128, Assert.IsType<Models.CnnLstm.CnnLstmConfig>(Read("""{"lstm":128}""")).Lstm);
    }

    [Fact]
    public void An_unknown_network_is_refused_by_name()
    {
        var e = Assert.ThrowsAny<Exception>(() => Read("""{"arch":"vgg"}"""));
        Assert.Contains("unknown architecture 'vgg'", e.Message);
    }
}
