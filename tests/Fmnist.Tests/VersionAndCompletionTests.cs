using System.Diagnostics;
using System.Text.Json;
using static Fmnist.Tests.InProcessCli;

namespace Fmnist.Tests;

/// <summary>`--version`, `version --json`, and the shell completion scripts run in a real bash and zsh.</summary>
public class VersionAndCompletionTests
{
    [Fact]
    public void Version_names_every_runtime_and_the_json_form_carries_the_same()
    {
        var (code, output, err) = Run("--version");
        Assert.True(code == 0, err);
        var lines = output.Trim().Split('\n');
        Assert.Matches(@"^fmnist \d+\.\d+\.\d+", lines[0]);
        Assert.Matches(@"^TorchSharp 0\.107\.\d+(\.\d+)?, libtorch \d+\.\d+", lines[1]);
        Assert.Matches(@"^ONNX Runtime 1\.\d+\.\d+$", lines[2]);
        Assert.Contains(".NET " + Environment.Version.ToString(3), lines[3]);
        Assert.Equal("CPU: " + Fmnist.Platform.CpuInfo.Current.Describe(), lines[4]);

        var (jsonCode, json, _) = Run("version", "--json");
        Assert.Equal(0, jsonCode);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(lines[2], "ONNX Runtime " + doc.RootElement.GetProperty("onnx_runtime").GetString());
        Assert.Equal(lines[0], "fmnist " + doc.RootElement.GetProperty("fmnist").GetString());
        var isa = doc.RootElement.GetProperty("machine").GetProperty("instruction_sets").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.InstructionSets, isa);
    }

    [Fact]
    public void Completion_refuses_an_unknown_shell()
    {
        var (code, _, err) = Run("completion", "fish");
        Assert.NotEqual(0, code);
        Assert.Contains("'fish'", err);
    }

    /// <summary>The bash script, sourced in a real bash, completes a subcommand and an option by asking fmnist.</summary>
    [Fact]
    public void Bash_completion_completes_subcommands_and_options()
    {
        var fmnist = WriteShim();
        var script = Path.Combine(TestData.TempDir(), "fmnist.bash");
        File.WriteAllText(script, Run("completion", "bash").Out);
        string Complete(string line) => Shell("bash", $$"""
            source {{script}}
            COMP_LINE='{{fmnist}} {{line}}'; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"
            _fmnist_complete; printf '%s\n' "${COMPREPLY[@]}"
            """);
        Assert.Equal(["train"], Complete("tr").Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--validation-fraction", Complete("train --valid").Split('\n'));
    }

    [Fact]
    public void Zsh_completion_completes_a_subcommand()
    {
        var fmnist = WriteShim();
        var script = Path.Combine(TestData.TempDir(), "_fmnist");
        File.WriteAllText(script, Run("completion", "zsh").Out);
        // compadd works only inside the completion system: record what the function would offer instead.
        var offered = Shell("zsh", $$"""
            autoload -Uz compinit && compinit -u
            source {{script}}
            compadd() { shift; print -l -- ${(P)1}; }
            words=({{fmnist}} ser); BUFFER='{{fmnist}} ser'; CURSOR=${#BUFFER}
            _fmnist
            """);
        Assert.Equal(["serve"], offered.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>An executable that runs this build's fmnist.dll, standing where a shell would find fmnist.</summary>
    private static string WriteShim()
    {
        var shim = Path.Combine(TestData.TempDir(), "fmnist");
        File.WriteAllText(shim, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "fmnist.dll")}' \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return shim;
    }

    private static string Shell(string shell, string script)
    {
        var psi = new ProcessStartInfo(shell) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(shell == "zsh" ? "-f" : "--norc");
        psi.ArgumentList.Add("-s");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{shell} did not start");
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), $"{shell} ran over a minute");
        Assert.True(p.ExitCode == 0, $"{shell} exited {p.ExitCode}: {err.Result}");
        return output.Result.Trim();
    }
}
