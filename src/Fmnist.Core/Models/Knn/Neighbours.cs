namespace Fmnist.Models.Knn;

/// <summary>
/// The <see cref="K"/> nearest training images of each query, ordered by (distance, training index).
/// Row q occupies [q*K, (q+1)*K) of both arrays.
/// </summary>
internal sealed record Neighbours(int Queries, int K, int[] Index, int[] Distance)
{
    public ReadOnlySpan<int> IndicesOf(int q) => Index.AsSpan(q * K, K);
    public ReadOnlySpan<int> DistancesOf(int q) => Distance.AsSpan(q * K, K);
}
