using System.Globalization;
using System.Text;

namespace Fmnist.Serve;

/// <summary>
/// Prometheus' text exposition format (version 0.0.4), written by hand: the format is a few lines per series, and a
/// client library would be a dependency for that. https://prometheus.io/docs/instrumenting/exposition_formats/
/// </summary>
internal static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    public static void Sample(StringBuilder text, string name, string labels, double value) =>
        text.Append(name).Append(labels.Length > 0 ? $"{{{labels}}}" : "").Append(' ').Append(Number(value)).Append('\n');

    /// <summary>`name="value"`, the value escaped as the format asks (backslash, double quote, line feed).</summary>
    public static string Label(string name, string value) =>
        $"{name}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"";

    public static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A cumulative histogram with fixed upper bounds, as Prometheus reads one: _bucket{le}, _sum, _count.</summary>
internal sealed class Histogram(double[] bounds)
{
    private readonly long[] _counts = new long[bounds.Length + 1]; // the last one is +Inf
    private double _sum;
    private long _count;

    public void Observe(double value)
    {
        int i = 0;
        while (i < bounds.Length && value > bounds[i]) i++;
        // One lock per observation: cheap next to a request, and _sum, _count and the bucket move together for a scrape.
        lock (_counts)
        {
            _counts[i]++;
            _sum += value;
            _count++;
        }
    }

    public void Write(StringBuilder text, string name, string labels)
    {
        string prefix = labels.Length > 0 ? labels + "," : "";
        long cumulative = 0;
        lock (_counts)
        {
            for (int i = 0; i <= bounds.Length; i++)
            {
                cumulative += _counts[i];
                var le = PrometheusText.Label("le", PrometheusText.Number(i < bounds.Length ? bounds[i] : double.PositiveInfinity));
                PrometheusText.Sample(text, name + "_bucket", prefix + le, cumulative);
            }
            PrometheusText.Sample(text, name + "_sum", labels, _sum);
            PrometheusText.Sample(text, name + "_count", labels, _count);
        }
    }
}
