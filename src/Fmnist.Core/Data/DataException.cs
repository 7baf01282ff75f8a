namespace Fmnist.Data;

/// <summary>
/// A problem with the data files that the user can act on. The message is one line and names the file.
/// </summary>
internal sealed class DataException(string path, string problem, Exception? inner = null) : FmnistException($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}
