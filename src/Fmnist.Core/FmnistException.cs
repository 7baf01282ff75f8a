namespace Fmnist;

/// <summary>
/// A problem the user can act on (a corrupt model folder, a config mismatch, an unreadable image, a bad
/// option). The message is one line and names the file. Every user-facing error derives from this one
/// class, so the CLI maps all of them with a single rule (one line on stderr, exit code 1).
/// </summary>
public class FmnistException(string message, Exception? inner = null) : Exception(message, inner);
