using System.CommandLine;
using System.CommandLine.Invocation;
using Fmnist.Platform;

namespace Fmnist.Cli.Commands;

/// <summary>
/// `fmnist --version` (System.CommandLine's own option, given fmnist's fuller report) and
/// `fmnist version [--json]` for scripts: the same facts as one JSON object.
/// </summary>
internal static class VersionCommand
{
    public static void ReplaceVersionAction(RootCommand root, CliIo io)
    {
        var option = root.Options.OfType<VersionOption>().Single();
        option.Description = "Show fmnist's version and those of TorchSharp, libtorch, ONNX Runtime, .NET and the CPU";
        option.Action = new PrintVersion(io);
    }

    public static Command Create(CliIo io)
    {
        var json = Common.Json();
        var command = new Command("version", "Versions of fmnist, TorchSharp, libtorch, ONNX Runtime, .NET, and the CPU (as --version; --json for scripts)") { json };
        command.SetAction(parse =>
        {
            var report = VersionReport.Collect();
            // The CPU as every other command describes the machine (MachineRecord), not CpuInfo's own fields.
            if (parse.GetValue(json))
                io.WriteJson(new VersionJson(report.Fmnist, report.TorchSharp, report.Libtorch, report.OnnxRuntime, report.Dotnet, report.Runtime,
                    report.Os, report.Allocator, MachineRecord.Current()), VersionJson.Schema);
            else foreach (var line in report.Lines()) io.Stdout.WriteLine(line);
            return 0;
        });
        return command;
    }

    private sealed class PrintVersion(CliIo io) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            foreach (var line in VersionReport.Collect().Lines()) io.Stdout.WriteLine(line);
            return 0;
        }
    }
}
