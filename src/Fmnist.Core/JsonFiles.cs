using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fmnist;

/// <summary>The project's one JSON style (snake_case, enums as names); files are written atomically.</summary>
internal static class JsonFiles
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static void Write<T>(string path, T value) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, Options) + "\n");

    public static T Read<T>(string path)
    {
        if (!File.Exists(path)) throw new FmnistException($"{path}: file not found");
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                   ?? throw new FmnistException($"{path}: empty JSON document");
        }
        catch (JsonException e)
        {
            throw new FmnistException($"{path}: invalid JSON ({e.Message.Split('.')[0]})");
        }
    }
}
