using System.Runtime.CompilerServices;
namespace Fmnist.Models.Knn;

/// <summary>
/// The K smallest (distance, index) pairs seen so far, as a max-heap of packed keys
/// <c>distance &lt;&lt; 32 | index</c>: comparing keys compares (distance, index) exactly.
/// When candidates arrive in increasing index order (the scalar kernel), one with a distance equal to the
/// current worst always loses, so <see cref="Worst"/> is a strict bound; in any other order (the vector
/// kernels' popcount order) a candidate at exactly that distance may still win on its index, and Push
/// decides by the full key.
/// </summary>
internal sealed class TopK(int k)
{
    private readonly ulong[] _heap = new ulong[k];
    private int _count;

    /// <summary>The K-th smallest distance kept so far (int.MaxValue until K are kept).</summary>
    public int Worst => _count < _heap.Length ? int.MaxValue : (int)(_heap[0] >> 32);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public void Push(int distance, int index)
    {
        ulong key = ((ulong)(uint)distance << 32) | (uint)index;
        if (_count < _heap.Length)
        {
            int i = _count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (_heap[parent] >= key) break;
                _heap[i] = _heap[parent];
                i = parent;
            }
            _heap[i] = key;
            return;
        }
        if (key >= _heap[0]) return;
        SiftDown(key);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    private void SiftDown(ulong key)
    {
        int i = 0, n = _count;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && _heap[child + 1] > _heap[child]) child++;
            if (_heap[child] <= key) break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = key;
    }

    /// <summary>Writes the kept pairs in ascending (distance, index) order and resets.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public void Drain(Span<int> indices, Span<int> distances)
    {
        var sorted = _heap.AsSpan(0, _count);
        sorted.Sort();
        for (int i = 0; i < sorted.Length; i++)
        {
            indices[i] = (int)(uint)sorted[i];
            distances[i] = (int)(sorted[i] >> 32);
        }
        _count = 0;
    }
}
