using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Fmnist.Serve;

/// <summary>
/// `--api-key`: every /api/* request must carry `Authorization: Bearer KEY`, or gets 401. The page, its assets,
/// /health and the OpenAPI document stay open: they tell nothing about the images sent and cost no model time,
/// and the page asks for the key itself when the API answers 401.
/// </summary>
internal sealed class ApiKeyCheck(string key)
{
    private readonly byte[] _expected = Encoding.UTF8.GetBytes(key);

    public async Task Handle(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.StartsWithSegments("/api") || Authorized(context.Request))
        {
            await next(context);
            return;
        }
        bool sent = context.Request.Headers.Authorization.Count > 0;
        await ErrorMiddleware.Write(context, 401, "unauthorized",
            sent ? "wrong API key: send `Authorization: Bearer KEY` with the server's --api-key" : "this server needs an API key: send `Authorization: Bearer KEY`",
            ("WWW-Authenticate", "Bearer"));
    }

    private bool Authorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        // Constant time, so the answer's timing does not tell how much of a guessed key was right.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), _expected);
    }
}
