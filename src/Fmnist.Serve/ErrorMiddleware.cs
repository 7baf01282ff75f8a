using Fmnist.Imaging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Fmnist.Serve;

/// <summary>
/// Every refusal becomes a JSON <see cref="ErrorBody"/> with the right status; anything unexpected becomes a
/// 500 naming only the exception type (never a stack trace), and the server goes on serving.
/// </summary>
internal static class ErrorMiddleware
{
    public static async Task Handle(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
            // Routing's own 404 and 405 have no body: give them the same JSON shape.
            if (context.Response is { StatusCode: >= 400, HasStarted: false, ContentLength: null } r)
            {
                var (error, problem) = r.StatusCode switch
                {
                    404 => ("not_found", "no such route"),
                    405 => ("method_not_allowed", "method not allowed"),
                    _ => ("error", $"HTTP {r.StatusCode}"),
                };
                await Write(context, r.StatusCode, error, $"{context.Request.Method} {context.Request.Path}: {problem}");
            }
        }
        catch (ApiException e)
        {
            await Write(context, e.Status, e.Error, e.Message);
        }
        catch (ImageInputException e)
        {
            await Write(context, 400, "bad_image", e.Message);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (a body above MaxRequestBodySize, a malformed chunk).
            await Write(context, e.StatusCode, e.StatusCode == 413 ? "payload_too_large" : "bad_request", e.Message);
        }
        catch (QueueFullException e)
        {
            await Write(context, 503, "overloaded", e.Message, RetryAfter);
        }
        catch (DecodersBusyException e)
        {
            await Write(context, 503, "overloaded", e.Message, RetryAfter);
        }
        catch (BodyBudgetException e)
        {
            await Write(context, 503, "overloaded", e.Message, RetryAfter);
        }
        catch (ServerStoppingException e)
        {
            await Write(context, 503, "shutting_down", e.Message, RetryAfter);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"fmnist serve: internal error on {context.Request.Method} {context.Request.Path}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            await Write(context, 500, "internal_error", $"internal error ({e.GetType().Name})");
        }
    }

    // Refused for load, not for what was sent: the client may try again, after this many seconds.
    private static readonly (string, string) RetryAfter = ("Retry-After", ServeLimits.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

    internal static async Task Write(HttpContext context, int status, string error, string message, (string Name, string Value)? header = null)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }
        context.RequestServices?.GetService<ServeMetrics>()?.CountRefusal(error);
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (header is { } h) context.Response.Headers[h.Name] = h.Value;
        await context.Response.WriteAsJsonAsync(new ErrorBody(status, error, message), ServeHost.Json);
    }
}
