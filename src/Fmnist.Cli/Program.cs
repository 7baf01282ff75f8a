// A full disk or `ulimit -f` then ends in a one-line error naming the file, not a silent kill.
Fmnist.Posix.IgnoreFileSizeSignal();
return Fmnist.Cli.CliApp.Run(args, Console.Out, Console.Error);
