using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// libtorch has one random generator per process (initialisation and dropout draw from it), so two trainings
/// running side by side in one process would take numbers from each other's stream and neither would repeat.
/// fmnist therefore runs one training at a time per process: a second one waits for the first to finish (parallel
/// ensemble members run in processes of their own).
/// </summary>
internal static class TorchRandom
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Holds the process's generator until disposed, then seeds it; says so when it has to wait.</summary>
    public static IDisposable Exclusive(int seed, ITrainingProgress progress)
    {
        if (!Gate.Wait(0))
        {
            progress.Message("waiting for the training already running in this process (libtorch's random generator is shared by the process, so trainings take turns)");
            Gate.Wait();
        }
        manual_seed(seed);
        return new Release();
    }

    private sealed class Release : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Gate.Release();
        }
    }
}
