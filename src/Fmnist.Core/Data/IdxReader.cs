using System.Buffers.Binary;
using System.IO.Compression;

namespace Fmnist.Data;

/// <summary>
/// Reads IDX files (the MNIST family's format), gzip-compressed or raw, and validates them fully on
/// every load: a half-written or foreign file must fail here, not deep inside training. Data is
/// streamed straight into an array of the size the header promises (no intermediate copies).
/// </summary>
internal static class IdxReader
{
    public const int ImageMagic = 0x00000803; // unsigned bytes, 3 dimensions
    public const int LabelMagic = 0x00000801; // unsigned bytes, 1 dimension

    /// <summary>Reads an image file: returns count*784 bytes, row-major per image.</summary>
    public static byte[] ReadImages(string path) => Read(path, ImageMagic, header =>
    {
        int count = header[0], rows = header[1], cols = header[2];
        if (rows != ImageShape.Side || cols != ImageShape.Side)
            throw new DataException(path, $"images are {rows}x{cols}, expected {ImageShape.Side}x{ImageShape.Side}");
        return (long)count * ImageShape.Pixels;
    }, "images", 3);

    /// <summary>Reads a label file: returns one byte (0..9) per image.</summary>
    public static byte[] ReadLabels(string path)
    {
        var labels = Read(path, LabelMagic, header => header[0], "labels", 1);
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= ClassNames.Count)
                throw new DataException(path, $"label {labels[i]} at index {i} is out of range 0-9");
        return labels;
    }

    /// <summary>Writes an IDX file (gzip when the name ends in .gz); used by tests and data tooling.</summary>
    public static void Write(string path, int magic, int[] dims, byte[] data)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        AtomicFile.Write(path, tmp =>
        {
            using var file = File.Create(tmp);
            using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionLevel.Fastest) : file;
            stream.Write(header);
            stream.Write(data);
        });
    }

    private static byte[] Read(string path, int expectedMagic, Func<int[], long> payloadLength, string what, int dims)
    {
        try
        {
            using var file = File.OpenRead(path);
            bool gzip = IsGzip(file);
            using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : (Stream)file;
            var head = new byte[4 + 4 * dims];
            int got = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            if (got < 4)
                throw Truncated(path, gzip, file, got) ?? new DataException(path, $"file is {got} bytes, too short for an IDX header");
            int magic = BinaryPrimitives.ReadInt32BigEndian(head);
            if (magic != expectedMagic)
                throw new DataException(path, $"wrong magic number 0x{magic:X8} (an IDX {what} file has 0x{expectedMagic:X8})");
            if (got < head.Length)
                throw Truncated(path, gzip, file, got) ?? new DataException(path, "file ends inside the IDX header");
            var header = new int[dims];
            for (int i = 0; i < dims; i++) header[i] = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(4 + 4 * i));
            long length = payloadLength(header);
            if (header[0] < 0 || length > Array.MaxLength)
                throw new DataException(path, $"header says {header[0]} {what}, which is not a valid count");
            var data = new byte[length];
            int n = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (n < data.Length)
                throw Truncated(path, gzip, file, head.Length + n)
                      ?? new DataException(path, $"header says {header[0]} {what} but the file ends after {n} of {length} data bytes");
            if (stream.ReadByte() >= 0)
                throw new DataException(path, $"header says {header[0]} {what} but the file has more data after them");
            if (gzip && Truncated(path, gzip, file, head.Length + n) is { } cut) throw cut;
            return data;
        }
        catch (InvalidDataException)
        {
            throw new DataException(path, "corrupt gzip data");
        }
        catch (FileNotFoundException)
        {
            throw new DataException(path, "file not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new DataException(path, "file not found");
        }
        catch (UnauthorizedAccessException)
        {
            throw new DataException(path, "permission denied");
        }
        catch (IOException e)
        {
            throw new DataException(path, $"cannot be read ({e.Message.TrimEnd('.')})");
        }
    }

    /// <summary>
    /// GZipStream may stop quietly at a cut-off end. A complete member ends with ISIZE (the
    /// uncompressed length mod 2^32); when it disagrees with what was decompressed, the file was cut.
    /// </summary>
    private static DataException? Truncated(string path, bool gzip, FileStream file, long decompressed)
    {
        if (!gzip) return null;
        if (file.Length < 18) return new DataException(path, "truncated gzip file");
        Span<byte> trailer = stackalloc byte[4];
        file.Seek(-4, SeekOrigin.End);
        file.ReadExactly(trailer);
        return BinaryPrimitives.ReadUInt32LittleEndian(trailer) == (uint)decompressed
            ? null : new DataException(path, "truncated gzip file");
    }

    /// <summary>Whether the file starts with the gzip magic bytes; the position is left at 0.</summary>
    internal static bool IsGzip(FileStream file)
    {
        Span<byte> magic = stackalloc byte[2];
        int n = file.Read(magic);
        file.Position = 0;
        return n == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
    }
}
