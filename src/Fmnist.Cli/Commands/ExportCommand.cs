using System.CommandLine;
using Fmnist.Export;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

/// <summary>`export`: a run folder's model as ONNX (for ONNX Runtime anywhere) or as a PyTorch state_dict.</summary>
internal static class ExportCommand
{
    public static Command Create(CliIo io)
    {
        var json = Common.Json();
        var model = new Option<string>("--model") { Description = "Run folder holding config.json and model.pt (e.g. runs/reproduce/cnn-seed), or an ensemble folder (`train --ensemble`: one ONNX graph averaging its members)", Required = true };
        var tta = ModelCommands.TtaOption();
        tta.Description = "ONNX: test-time augmentation inside the graph (the views go through the network as one batch, their probabilities averaged): none, flip, shift, flip-shift (10 views), flip-diagonal or flip-shift2 (18 views each; see `evaluate --help`); a bare --tta is flip";
        var format = new Option<string>("--format") { Description = "onnx (opset 17, normalization inside the graph) or pytorch (state_dict for torch.load; see interop/python)", DefaultValueFactory = _ => "onnx" };
        format.AcceptOnlyFromAmong("onnx", "pytorch");
        var output = new Option<string?>("--file") { Description = "File to write; its folder must exist [default: model.onnx or model.pth in the run folder]" };
        var command = new Command("export", "Write a trained model for use outside fmnist: ONNX (ONNX Runtime: C#, Python, browser) or PyTorch weights") { json, model, format, output, tta, Common.Renamed("--out", "--file", "the file to write: --out names folders") };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(model)!;
            if (parse.GetValue(format) != "onnx" && parse.GetValue(tta) != Evaluation.TtaMode.None)
                throw new UsageException("--tta: only an ONNX graph can hold the views; a PyTorch state_dict is the weights alone");
            var r = parse.GetValue(format) == "onnx" ? OnnxExporter.Export(dir, parse.GetValue(output), parse.GetValue(tta)) : PyTorchExporter.Export(dir, parse.GetValue(output));
            if (parse.GetValue(json))
            {
                io.WriteJson(new ExportJson(r.ModelDir, r.Format, r.File, r.Bytes, r.Parameters, r.TestAccuracy, r.Format == "onnx" ? OnnxGraphBuilder.Opset : null), ExportJson.Schema);
                return 0;
            }
            io.Human(false).MarkupLineInterpolated($"wrote {r.File} ({r.Format}, {r.Bytes / 1024.0:N0} KiB, {r.Parameters:N0} parameters)");
            return 0;
        });
        return command;
    }
}
