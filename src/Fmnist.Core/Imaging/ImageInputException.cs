namespace Fmnist.Imaging;

/// <summary>
/// A photo the user supplied cannot be used. The message is one line naming the file.
/// Derives from <see cref="FmnistException"/> so the CLI reports it as the user's to fix, not as a crash.
/// </summary>
internal sealed class ImageInputException(string path, string problem) : FmnistException($"{path}: {problem}")
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}
