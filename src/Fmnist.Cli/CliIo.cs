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

    public void WriteJson(object value) => Stdout.WriteLine(JsonSerializer.Serialize(value, value.GetType(), JsonFiles.Options));

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
