using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Fmnist.Serve;

/// <summary>One uploaded image, still encoded: the name (for messages) and its bytes.</summary>
public sealed record Upload(string Name, byte[] Bytes);

/// <summary>
/// Reads the images out of a predict request: a raw PNG/JPEG body, or multipart/form-data with `file` fields.
/// Everything stays in memory (at most <see cref="ServeOptions.MaxBodyBytes"/>): ASP.NET's form reader would
/// spill large files to temporary files, and nothing a request sends may touch the disk. The body's bytes count
/// against the server-wide <see cref="BodyBudget"/>: the caller reserves the Content-Length before this reads a
/// byte, and a body without one (chunked) grows the reservation as it arrives.
/// </summary>
internal static class UploadReader
{
    public static readonly string[] RawTypes = ["image/png", "image/jpeg"];

    /// <summary>The images of <paramref name="request"/>; <paramref name="reservation"/> (empty until now) holds its body's bytes.</summary>
    public static async Task<IReadOnlyList<Upload>> ReadAsync(HttpRequest request, BodyBudget.Reservation reservation, CancellationToken cancel)
    {
        if (request.ContentLength > ServeOptions.MaxBodyBytes)
            throw TooLarge(request.ContentLength.Value);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || type.MediaType.Value is not { } media)
            throw ApiException.Unsupported("no Content-Type: send image/png, image/jpeg or multipart/form-data");
        media = media.ToLowerInvariant();
        if (media == "image/jpg") media = "image/jpeg";
        // What the request says it sends is reserved before a byte is read; the checks above (413, 415) come first.
        if (request.ContentLength is long announced) reservation.Cover(announced);
        var body = new CappedStream(request.Body, ServeOptions.MaxBodyBytes, TooLarge, reservation.Cover);
        if (RawTypes.Contains(media))
            return [new Upload("body", await ReadAll(body, cancel, request.ContentLength))];
        if (media == "multipart/form-data")
            return await ReadMultipart(body, type, cancel);
        throw ApiException.Unsupported($"Content-Type {media} is not supported: send image/png, image/jpeg or multipart/form-data");
    }

    private static async Task<IReadOnlyList<Upload>> ReadMultipart(Stream body, MediaTypeHeaderValue type, CancellationToken cancel)
    {
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary)) throw ApiException.BadRequest("multipart/form-data without a boundary");
        // No BodyLengthLimit: a section is part of the body, and the CappedStream under the reader refuses the body first.
        var reader = new MultipartReader(boundary, body);
        var uploads = new List<Upload>();
        try
        {
            while (await reader.ReadNextSectionAsync(cancel) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.IsFileDisposition() || disposition.Name.Value != "file")
                {
                    await section.Body.DrainAsync(cancel);
                    continue;
                }
                if (uploads.Count == ServeOptions.MaxFiles)
                    throw ApiException.BadRequest($"too many files: at most {ServeOptions.MaxFiles} `file` fields per request");
                var bytes = await ReadAll(section.Body, cancel);
                var name = HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                uploads.Add(new Upload(string.IsNullOrWhiteSpace(name) ? $"file {uploads.Count + 1}" : name, bytes));
            }
        }
        // The 10 MB limit is CappedStream's ApiException and passes through. What MultipartReader throws itself is a
        // malformed body, its limits included (a section's headers above 16 KB or more than 16 of them): 400, not 413.
        catch (InvalidDataException e)
        {
            throw ApiException.BadRequest($"malformed multipart body ({e.Message.ReplaceLineEndings(" ").Trim()})");
        }
        catch (IOException e) when (e.Message.Contains("Unexpected end", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.BadRequest("malformed multipart body (it ends before its closing boundary)");
        }
        if (uploads.Count == 0) throw ApiException.BadRequest("multipart/form-data with no `file` field: send the image(s) as `file`");
        return uploads;
    }

    /// <summary>Reads a stream to the end; the body under it is a <see cref="CappedStream"/>, so this stops at the limit.
    /// With the length announced (and already reserved), one array of that size holds it: no doubling, no final copy.</summary>
    private static async Task<byte[]> ReadAll(Stream body, CancellationToken cancel, long? announced = null)
    {
        using var buffer = announced is > 0 and <= ServeOptions.MaxBodyBytes ? new MemoryStream((int)announced.Value) : new MemoryStream();
        await body.CopyToAsync(buffer, cancel);
        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    private static ApiException TooLarge(long bytes) =>
        ApiException.TooLarge($"request body of at least {bytes:N0} bytes is above the {ServeOptions.MaxBodyBytes / (1024 * 1024)} MB limit");
}
