namespace Fmnist;

/// <summary>
/// A problem the user can act on (a corrupt model folder, a config mismatch, an unreadable image).
/// The message is one line and names the file.
/// </summary>
public class FmnistException(string message) : Exception(message);
