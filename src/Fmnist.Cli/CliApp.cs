using System.CommandLine;
using Fmnist.Cli.Commands;

namespace Fmnist.Cli;

/// <summary>The `fmnist` command tree. Writers are parameters so tests can run it in-process.</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parse = Build(stdout, stderr).Parse(args);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (Errors.IsUserError(e))
        {
            stderr.WriteLine($"fmnist: {Errors.OneLine(e)}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("FMNIST_DEBUG") != "1")
        {
            stderr.WriteLine($"fmnist: internal error: {e.GetType().Name}: {Errors.OneLine(e)} (set FMNIST_DEBUG=1 for the stack trace)");
            return 70;
        }
    }

    /// <summary>The whole command tree, writing to the given writers.</summary>
    public static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("fmnist: Fashion-MNIST classifiers (Hamming KNN, CNN+LSTM, ResNet) in C#.");
        var io = new CliIo(stdout, stderr);
        foreach (var command in new[]
                 {
                     DataCommand.Create(io), KnnCommand.Create(io), TrainCommand.Create(io), ModelCommands.Evaluate(io), ModelCommands.Predict(io), ExplainCommand.Create(io), CalibrateCommand.Create(io), ModelCommands.Summary(io), ExperimentCommands.SweepCommand(io), ExperimentCommands.ReproduceCommand(io), BenchCommand.Create(io), ExportCommand.Create(io), ServeCommand.Create(io),
                     VersionCommand.Create(io), CompletionCommand.Create(io),
                 })
            root.Subcommands.Add(command);
        VersionCommand.ReplaceVersionAction(root, io);
        return root;
    }
}
