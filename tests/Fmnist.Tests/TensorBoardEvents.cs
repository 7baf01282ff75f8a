using Google.Protobuf;

namespace Fmnist.Tests;

/// <summary>One decoded TensorBoard event: the fields fmnist writes (scalar, image, histogram values).</summary>
public sealed record TbEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<TbValue> Values);

public sealed record TbValue(string Tag, float? Scalar, (int Width, int Height, byte[] Png)? Image, (double Num, double Min, double Max, double[] Counts)? Histogram);

/// <summary>
/// An event-file reader written from the formats, not from TorchSharp's writer: TFRecord framing
/// (uint64 length, masked CRC32C of the length, the bytes, masked CRC32C of the bytes), each record an
/// Event protobuf decoded field by field (tensorflow/core/util/event.proto, framework/summary.proto).
/// A CRC that does not match throws: the test then fails on a corrupt file.
/// </summary>
public static class TensorBoardEvents
{
    public static IEnumerable<TbEvent> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int pos = 0;
        while (pos < bytes.Length)
        {
            if (bytes.Length - pos < 12) throw new InvalidDataException($"{path}: truncated record header at byte {pos}");
            var header = bytes.AsSpan(pos, 8);
            ulong length = BitConverter.ToUInt64(header);
            Check(path, pos, header, BitConverter.ToUInt32(bytes, pos + 8));
            pos += 12;
            if ((ulong)(bytes.Length - pos) < length + 4) throw new InvalidDataException($"{path}: truncated record at byte {pos}");
            var data = bytes.AsSpan(pos, (int)length);
            Check(path, pos, data, BitConverter.ToUInt32(bytes, pos + (int)length));
            yield return ParseEvent(data.ToArray());
            pos += (int)length + 4;
        }
    }

    private static void Check(string path, int pos, ReadOnlySpan<byte> data, uint stored)
    {
        uint actual = MaskedCrc(data);
        if (actual != stored) throw new InvalidDataException($"{path}: CRC mismatch at byte {pos}: stored {stored:x8}, computed {actual:x8}");
    }

    /// <summary>TFRecord's mask: rotate the CRC32C right by 15 bits and add a constant.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    /// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: slow and obviously right.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    private static TbEvent ParseEvent(byte[] data)
    {
        var input = new CodedInputStream(data);
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new List<TbValue>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5: values.AddRange(ParseSummary(input.ReadBytes().ToByteArray())); break;
                default: input.SkipLastField(); break;
            }
        }
        return new TbEvent(wall, step, version, values);
    }

    private static IEnumerable<TbValue> ParseSummary(byte[] data)
    {
        var input = new CodedInputStream(data);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) yield return ParseValue(input.ReadBytes().ToByteArray());
            else input.SkipLastField();
        }
    }

    private static TbValue ParseValue(byte[] data)
    {
        var input = new CodedInputStream(data);
        string name = "";
        float? scalar = null;
        (int, int, byte[])? image = null;
        (double, double, double, double[])? histogram = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2: scalar = input.ReadFloat(); break;
                case 4: image = ParseImage(input.ReadBytes().ToByteArray()); break;
                case 5: histogram = ParseHistogram(input.ReadBytes().ToByteArray()); break;
                default: input.SkipLastField(); break;
            }
        }
        return new TbValue(name, scalar, image, histogram);
    }

    private static (int, int, byte[]) ParseImage(byte[] data)
    {
        var input = new CodedInputStream(data);
        int height = 0, width = 0;
        byte[] png = [];
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: height = input.ReadInt32(); break;
                case 2: width = input.ReadInt32(); break;
                case 4: png = input.ReadBytes().ToByteArray(); break;
                default: input.SkipLastField(); break;
            }
        }
        return (width, height, png);
    }

    private static (double, double, double, double[]) ParseHistogram(byte[] data)
    {
        var input = new CodedInputStream(data);
        double min = 0, max = 0, num = 0;
        var counts = new List<double>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: min = input.ReadDouble(); break;
                case 2: max = input.ReadDouble(); break;
                case 3: num = input.ReadDouble(); break;
                case 7 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    var packed = input.ReadBytes().ToByteArray();
                    for (int i = 0; i + 8 <= packed.Length; i += 8) counts.Add(BitConverter.ToDouble(packed, i));
                    break;
                case 7: counts.Add(input.ReadDouble()); break;
                default: input.SkipLastField(); break;
            }
        }
        return (num, min, max, counts.ToArray());
    }
}
