using System.Text.Json;
using Spectre.Console;

namespace Fmnist.Cli;

/// <summary>
/// Where output goes. With --json, stdout carries exactly one JSON object and every human-readable
/// line (tables, progress) goes to stderr instead.
/// </summary>
public sealed class CliIo(TextWriter stdout, TextWriter stderr)
{
    public TextWriter Stdout { get; } = stdout;
    public TextWriter Stderr { get; } = stderr;

    /// <summary>True when the real console is attached and not redirected: progress bars can redraw.</summary>
    public bool Interactive => ReferenceEquals(Stderr, Console.Error) && !Console.IsErrorRedirected;

    public IAnsiConsole Human(bool json) => Create(json ? Stderr : Stdout);

    /// <summary>The running command's path joined by dashes ("evaluate", "bench-train"): names its JSON schema.</summary>
    public string Command { get; set; } = "fmnist";

    /// <summary>
    /// The command's one JSON object, led by its schema name: <paramref name="schema"/>, the constant on the command's
    /// named record (JsonRecords.cs: `TrainJson.Schema`, ...; docs/json.md lists them). Timings are rounded here, the
    /// same way for every command (<see cref="JsonUnits"/>).
    /// </summary>
    public void WriteJson(object value, string schema)
    {
        var body = JsonSerializer.SerializeToNode(value, value.GetType(), JsonFiles.Options) as System.Text.Json.Nodes.JsonObject
                   ?? throw new ArgumentException("a command's JSON output must be an object", nameof(value));
        var named = new System.Text.Json.Nodes.JsonObject { ["schema"] = schema };
        foreach (var (key, node) in body.ToList())
        {
            body.Remove(key);
            named[key] = node;
        }
        JsonUnits.Normalize(named);
        Stdout.WriteLine(named.ToJsonString(JsonFiles.Options));
    }

    /// <summary>A failure under --json: <c>{"schema": "fmnist.error/1", "error": {"code", "message"}}</c> on stdout.</summary>
    public void WriteJsonError(string code, string message) =>
        WriteJson(new ErrorJson(new ErrorJson.Body(code, message)), ErrorJson.Schema);

    private IAnsiConsole Create(TextWriter writer)
    {
        bool console = ReferenceEquals(writer, Console.Out) ? !Console.IsOutputRedirected
            : ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = console ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = console ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = console ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!console) ansi.Profile.Width = 120; // files and pipes: don't wrap tables at 80 columns
        return ansi;
    }
}
