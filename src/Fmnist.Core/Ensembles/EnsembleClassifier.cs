using Fmnist.Evaluation;
using Fmnist.Inference;

namespace Fmnist.Ensembles;

/// <summary>An ensemble folder as one model: every member's probabilities (TorchSharp), averaged.</summary>
internal sealed class EnsembleClassifier : IClassifier
{
    private readonly TorchClassifier[] _members;

    public ModelDescription Description { get; }

    public EnsembleClassifier(string directory)
    {
        var folder = new EnsembleFolder(directory);
        var dirs = folder.MemberDirs();
        _members = new TorchClassifier[dirs.Count];
        try
        {
            for (int i = 0; i < dirs.Count; i++) _members[i] = new TorchClassifier(dirs[i]);
        }
        catch
        {
            foreach (var m in _members) m?.Dispose();
            throw;
        }
        var first = _members[0].Description;
        Description = new ModelDescription(folder.Directory, $"torchsharp ensemble of {dirs.Count}", _members.Sum(m => m.Description.Parameters),
            first.Config, folder.ReadResult()?.TestAccuracy);
    }

    public IReadOnlyList<TorchClassifier> Members => _members;

    public float[] Probabilities(byte[] images, TtaMode tta = TtaMode.None)
    {
        var mean = new ProbabilityMean();
        foreach (var m in _members) mean.Add(m.Probabilities(images, tta));
        return mean.Result();
    }

    public void Dispose()
    {
        foreach (var m in _members) m.Dispose();
    }
}
