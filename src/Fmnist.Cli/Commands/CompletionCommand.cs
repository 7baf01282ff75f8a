using System.CommandLine;

namespace Fmnist.Cli.Commands;

/// <summary>
/// `fmnist completion bash|zsh`: a script for the shell that asks fmnist itself what may come next,
/// through System.CommandLine's [suggest:POSITION] directive (what dotnet-suggest's shims do, without
/// needing that global tool). The script calls the command as it was typed (fmnist, ./fmnist, a path).
/// </summary>
internal static class CompletionCommand
{
    public const string Bash = """
        # fmnist completion for bash: source <(fmnist completion bash)
        _fmnist_complete() {
          local IFS=$'\n'
          COMPREPLY=($("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null))
        }
        complete -o default -F _fmnist_complete fmnist ./fmnist
        """;

    public const string Zsh = """
        #compdef fmnist
        # fmnist completion for zsh: source <(fmnist completion zsh)   (after compinit)
        _fmnist() {
          local -a candidates
          candidates=("${(@f)$("${words[1]}" "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
          compadd -a candidates
        }
        compdef _fmnist fmnist ./fmnist
        """;

    public static Command Create(CliIo io)
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script: source <(fmnist completion bash), or zsh; add that line to ~/.bashrc or ~/.zshrc to keep it") { shell };
        command.SetAction(parse =>
        {
            io.Stdout.WriteLine(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return 0;
        });
        return command;
    }
}
