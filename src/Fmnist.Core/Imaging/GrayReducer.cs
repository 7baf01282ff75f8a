namespace Fmnist.Imaging;

/// <summary>
/// Collects decoded RGBA rows, top to bottom, into a gray image <c>factor</c> times smaller on each side, each output
/// pixel the mean of its factor x factor box (fewer at the right and bottom edges). Only one output row of sums is
/// held besides the result, so a strip of the photo, never the photo, is in memory. Factor 1 keeps every pixel.
/// </summary>
internal sealed class GrayReducer
{
    private readonly int _width, _height, _factor;
    private readonly int[] _sums;
    private int _row;

    public GrayReducer(int width, int height, int factor)
    {
        _width = width;
        _height = height;
        _factor = factor;
        Width = (width + factor - 1) / factor;
        Height = (height + factor - 1) / factor;
        Gray = new byte[(long)Width * Height];
        _sums = factor == 1 ? [] : new int[Width];
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Gray { get; }
    public bool Complete => _row == _height;
    public int RowsLeft => _height - _row;

    /// <summary>Adds <paramref name="rows"/> rows of premultiplied RGBA, <paramref name="rowBytes"/> apart.</summary>
    public void AddRgba(ReadOnlySpan<byte> rgba, int rows, int rowBytes)
    {
        for (int r = 0; r < rows && _row < _height; r++, _row++)
        {
            var line = rgba.Slice(r * rowBytes, _width * 4);
            if (_factor == 1)
            {
                var target = Gray.AsSpan(_row * _width, _width);
                for (int x = 0, j = 0; x < _width; x++, j += 4) target[x] = PhotoPreprocessor.Luma(line[j], line[j + 1], line[j + 2], line[j + 3]);
                continue;
            }
            for (int box = 0, j = 0; box < Width; box++)
            {
                int sum = 0;
                // The same luma in 16-bit fixed point: a 40 MP photo passes here, and averaging hides the last bit.
                // Premultiplied colour never exceeds alpha, so the result stays within 0..255.
                for (int end = 4 * Math.Min((box + 1) * _factor, _width); j < end; j += 4)
                    sum += ((19595 * line[j] + 38470 * line[j + 1] + 7471 * line[j + 2] + 32768) >> 16) + 255 - line[j + 3];
                _sums[box] += sum;
            }
            if ((_row + 1) % _factor == 0 || _row == _height - 1) Flush();
        }
    }

    private void Flush()
    {
        int outRow = _row / _factor;
        int boxRows = _row - outRow * _factor + 1;
        var target = Gray.AsSpan(outRow * Width, Width);
        for (int box = 0; box < Width; box++)
        {
            int count = boxRows * (Math.Min((box + 1) * _factor, _width) - box * _factor);
            target[box] = (byte)((_sums[box] + count / 2) / count);
            _sums[box] = 0;
        }
    }
}
