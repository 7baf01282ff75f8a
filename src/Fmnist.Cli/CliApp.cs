using System.CommandLine;
using Fmnist.Cli.Commands;

namespace Fmnist.Cli;

/// <summary>The `fmnist` command tree. Writers are parameters so tests can run it in-process.</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // The CLI owns its process: it asks the library for the process-wide tuning (threads, malloc, OpenMP's
        // waiting, a full GC per epoch), applied before the first libtorch use, as it always was.
        Training.TorchRuntime.InitializeOnFirstUse = true;
        var io = new CliIo(stdout, stderr);
        var parse = Build(io).Parse(args);
        var names = new List<string>();
        for (var c = parse.CommandResult; c is not null && c.Command is not RootCommand; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, c.Command.Name);
        io.Command = names.Count == 0 ? "version" : string.Join('-', names); // the root answers only --version and --help
        // Under --json a script reads stdout: every failure is a JSON object there too, beside the line on stderr.
        bool json = args.Contains("--json");
        if (json && parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"fmnist: {error.Message}");
            io.WriteJsonError("usage", string.Join("; ", parse.Errors.Select(e => e.Message)));
            return 1;
        }
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            try
            {
                return parse.Invoke(config);
            }
            finally
            {
                // Before any error line below: a command that failed mid-epoch must not leave its progress bar drawn.
                TrainingView.StopBar();
            }
        }
        catch (Training.TrainingStoppedException e)
        {
            // Interrupted on request (Ctrl-C): 128 + SIGINT, as shells report it.
            stderr.WriteLine($"fmnist: {Errors.OneLine(e)}");
            if (json) io.WriteJsonError("stopped", Errors.OneLine(e));
            return 130;
        }
        catch (Exception e) when (Errors.IsUserError(e))
        {
            stderr.WriteLine($"fmnist: {Errors.OneLine(e)}");
            if (json) io.WriteJsonError(e is UsageException ? "usage" : "bad_input", Errors.OneLine(e));
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("FMNIST_DEBUG") != "1")
        {
            stderr.WriteLine($"fmnist: internal error: {e.GetType().Name}: {Errors.OneLine(e)} (set FMNIST_DEBUG=1 for the stack trace)");
            if (json) io.WriteJsonError("internal", $"{e.GetType().Name}: {Errors.OneLine(e)}");
            return 70;
        }
    }

    /// <summary>The whole command tree, writing to the given writers.</summary>
    public static RootCommand Build(TextWriter stdout, TextWriter stderr) => Build(new CliIo(stdout, stderr));

    private static RootCommand Build(CliIo io)
    {
        var root = new RootCommand("fmnist: Fashion-MNIST classifiers (Hamming KNN, CNN+LSTM, ResNet) in C#.");
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
