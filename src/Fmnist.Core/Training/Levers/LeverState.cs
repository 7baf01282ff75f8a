using static TorchSharp.torch;

namespace Fmnist.Training.Levers;

/// <summary>
/// What the speedrun levers carry from one epoch to the next (Muon's momentum, Lookahead's slow weights and
/// step count, the pruning losses), as named float arrays in one binary file beside the checkpoint: floats
/// written as their bits, so a resumed run continues exactly.
/// </summary>
internal static class LeverState
{
    /// <summary>One piece of state: how to read it out and how to put it back.</summary>
    public sealed record Entry(string Name, Func<float[]> Get, Action<float[]> Set);

    /// <summary>The state of <paramref name="step"/>'s levers (empty when none is on).</summary>
    public static List<Entry> Of(TrainingStep step)
    {
        var list = new List<Entry>();
        if (step.Muon is { } muon)
            for (int i = 0; i < muon.Buffers.Count; i++) list.Add(OfTensor($"muon.{i}", muon.Buffers[i]));
        if (step.Lookahead is { } la)
        {
            for (int i = 0; i < la.Slow.Count; i++) list.Add(OfTensor($"lookahead.{i}", la.Slow[i]));
            // Two floats hold the count exactly (high and low 24 bits).
            list.Add(new("lookahead.steps", () => [la.Steps >> 24, la.Steps & 0xFFFFFF], v => la.Steps = ((long)v[0] << 24) + (long)v[1]));
        }
        if (step.Pruning is { } p) list.Add(new("pruning.losses", () => p.Losses, v => v.CopyTo(p.Losses, 0)));
        return list;
    }

    // Through a contiguous copy: a channels-last tensor's storage is not in its logical order.
    private static Entry OfTensor(string name, Tensor t) => new(name, () =>
    {
        using var c = t.contiguous();
        return c.data<float>().ToArray();
    }, v =>
    {
        using var _ = no_grad();
        using var src = tensor(v).view(t.shape);
        t.copy_(src);
    });

    public static void Write(string path, IReadOnlyList<Entry> entries)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(entries.Count);
        foreach (var e in entries)
        {
            var v = e.Get();
            w.Write(e.Name);
            w.Write(v.Length);
            foreach (var f in v) w.Write(f);
        }
    }

    public static void Read(string path, IReadOnlyList<Entry> entries)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        int count = r.ReadInt32();
        if (count != entries.Count) throw new FmnistException($"{path}: holds {count} pieces of state, the run needs {entries.Count}");
        foreach (var e in entries)
        {
            string name = r.ReadString();
            int n = r.ReadInt32();
            if (name != e.Name) throw new FmnistException($"{path}: found '{name}' where '{e.Name}' was expected");
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = r.ReadSingle();
            e.Set(v);
        }
    }
}
