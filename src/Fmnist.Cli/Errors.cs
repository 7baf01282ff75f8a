namespace Fmnist.Cli;

/// <summary>Which exceptions are the user's to fix (one line, exit 1) rather than our bugs.</summary>
internal static class Errors
{
    public static bool IsUserError(Exception e) => e is FmnistException;

    public static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();
}

/// <summary>A bad option value or combination, found after parsing.</summary>
public sealed class UsageException(string message) : FmnistException(message);
