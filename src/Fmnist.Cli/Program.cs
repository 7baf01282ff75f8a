return Fmnist.Cli.CliApp.Run(args, Console.Out, Console.Error);
