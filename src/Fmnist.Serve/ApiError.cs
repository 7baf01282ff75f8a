namespace Fmnist.Serve;

/// <summary>The JSON body of every error response: the HTTP status, a short code, and a one-line message.</summary>
public sealed record ErrorBody(int Status, string Error, string Message);

/// <summary>A request the server refuses; the middleware turns it into <see cref="ErrorBody"/> JSON.</summary>
public sealed class ApiException(int status, string error, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Error { get; } = error;

    public static ApiException BadRequest(string message) => new(400, "bad_request", message);
    public static ApiException TooLarge(string message) => new(413, "payload_too_large", message);
    public static ApiException Unsupported(string message) => new(415, "unsupported_media_type", message);
}
