using Fmnist.Cli;

namespace Fmnist.Tests;

/// <summary>Runs the `fmnist` command tree in this process, capturing what it prints.</summary>
public static class InProcessCli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
