using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Models.Knn;

namespace Fmnist.Tests;

public class KnnTests
{
    /// <summary>The plainest possible KNN: pixel-by-pixel distances, a full sort, a counted vote.</summary>
    private static byte[] NaivePredict(LabeledImages train, LabeledImages test, int threshold, int k, KnnWeights weights)
    {
        var predictions = new byte[test.Count];
        for (int q = 0; q < test.Count; q++)
        {
            var qi = test.Image(q).ToArray();
            var order = Enumerable.Range(0, train.Count).Select(i =>
            {
                var ti = train.Image(i);
                int d = 0;
                for (int p = 0; p < 784; p++) if (qi[p] > threshold != ti[p] > threshold) d++;
                return (D: d, I: i);
            }).OrderBy(x => x.D).ThenBy(x => x.I).Take(k).ToList();
            bool exact = weights == KnnWeights.Distance && order[0].D == 0;
            var score = new double[10];
            var first = Enumerable.Repeat(int.MaxValue, 10).ToArray();
            for (int r = 0; r < order.Count; r++)
            {
                int c = train.Labels[order[r].I];
                first[c] = Math.Min(first[c], r);
                score[c] += weights == KnnWeights.Uniform ? 1 : exact ? (order[r].D == 0 ? 1 : 0) : 1.0 / order[r].D;
            }
            int best = Enumerable.Range(0, 10).Where(c => first[c] != int.MaxValue)
                .OrderByDescending(c => score[c]).ThenBy(c => first[c]).First();
            predictions[q] = (byte)best;
        }
        return predictions;
    }

    // The kernel and weighting by name: their enums are internal to Fmnist.Core, and a public test method's
    // parameters must be public types.
    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        // Every kernel this CPU runs (AVX-512, AVX2, scalar on a Zen 4; AVX2 and scalar on a Zen 3), and auto.
        foreach (var kernel in HammingSearch.Supported.Append(SearchKernel.Auto))
            foreach (var w in new[] { KnnWeights.Uniform, KnnWeights.Distance })
                foreach (int levels in new[] { 2, 256 }) // 2 levels: many equal distances and tied votes
                    data.Add(kernel.ToString(), w.ToString(), levels);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fast_knn_equals_naive_reference_for_every_k(string kernelName, string weightsName, int levels)
    {
        var kernel = Enum.Parse<SearchKernel>(kernelName);
        var weights = Enum.Parse<KnnWeights>(weightsName);
        // 203 training images: not a multiple of the 16- or 8-image vector block.
        var train = TestData.Random(203, 11 + levels, levels);
        var test = TestData.Random(40, 99 + levels, levels);
        int[] ks = [1, 2, 3, 4, 5, 8, 9, 20, 50, 100, 203];
        var run = KnnClassifier.Run(train, test, new KnnOptions(ks, 127, weights, kernel));
        foreach (var score in run.Results)
            Assert.Equal(NaivePredict(train, test, 127, score.K, weights), score.Predictions);
    }

    [Fact]
    public void Neighbours_come_in_distance_then_index_order()
    {
        var train = TestData.Random(100, 5, 2);
        var test = TestData.Random(5, 6, 2);
        var nb = HammingSearch.Search(BitImages.Pack(train.Images, 127), BitImages.Pack(test.Images, 127), 30);
        for (int q = 0; q < 5; q++)
        {
            var d = nb.DistancesOf(q).ToArray();
            var i = nb.IndicesOf(q).ToArray();
            for (int r = 1; r < d.Length; r++)
                Assert.True(d[r - 1] < d[r] || (d[r - 1] == d[r] && i[r - 1] < i[r]));
        }
    }

    [Fact]
    public void Vote_tie_goes_to_the_class_whose_nearest_member_comes_first()
    {
        // Neighbours in order: class 7 (d=1), class 2 (d=2), class 2 (d=3), class 7 (d=4): two votes each.
        var nb = new Neighbours(1, 4, [0, 1, 2, 3], [1, 2, 3, 4]);
        byte[] labels = [7, 2, 2, 7];
        Assert.Equal(7, KnnVote.Predict(nb, labels, 4, KnnWeights.Uniform)[0]);
        // The same counts with the first neighbour of class 2: class 2 wins.
        Assert.Equal(2, KnnVote.Predict(nb, [2, 7, 7, 2], 4, KnnWeights.Uniform)[0]);
    }

    [Fact]
    public void Distance_votes_let_exact_matches_decide()
    {
        var nb = new Neighbours(1, 3, [0, 1, 2], [0, 1, 1]);
        Assert.Equal(4, KnnVote.Predict(nb, [4, 6, 6], 3, KnnWeights.Distance)[0]);
        Assert.Equal(6, KnnVote.Predict(nb, [4, 6, 6], 3, KnnWeights.Uniform)[0]);
    }

    [Fact]
    public void Bits_pack_the_threshold_exactly()
    {
        var img = new byte[784];
        img[0] = 128; img[31] = 127; img[32] = 255; img[783] = 200;
        var bits = BitImages.Pack(img, 127).Image(0);
        Assert.Equal(1u, bits[0]);
        Assert.Equal(1u, bits[1]);
        Assert.Equal(1u << (783 - 768), bits[24]);
        Assert.Equal(0u, bits[25]);
    }

    [Fact]
    public void Shifted_copies_move_pixels_by_one()
    {
        var img = new byte[784];
        img[5 * 28 + 5] = 200;
        var expanded = Shifts.Expand(new LabeledImages(img, [3]));
        Assert.Equal(5, expanded.Count);
        Assert.Equal(200, expanded.Image(1)[5 * 28 + 6]); // right
        Assert.Equal(200, expanded.Image(2)[5 * 28 + 4]); // left
        Assert.Equal(200, expanded.Image(3)[6 * 28 + 5]); // down
        Assert.Equal(200, expanded.Image(4)[4 * 28 + 5]); // up
        Assert.All(expanded.Labels, l => Assert.Equal(3, l));
    }

    [Fact]
    public void Real_data_slice_matches_the_naive_reference_on_every_kernel_and_beats_chance()
    {
        // Real images have widely spread popcounts, so the vector kernels' popcount window really skips here.
        var train = TestData.Fashion.Train.Take(1500);
        var test = TestData.Fashion.Test.Take(60);
        foreach (var kernel in HammingSearch.Supported)
        {
            var run = KnnClassifier.Run(train, test, new KnnOptions([1, 9, 100], 127, KnnWeights.Distance, kernel));
            foreach (var score in run.Results)
                Assert.Equal(NaivePredict(train, test, 127, score.K, KnnWeights.Distance), score.Predictions);
            Assert.True(run.Results[0].Accuracy > 0.6, $"{kernel}: K=1 accuracy {run.Results[0].Accuracy}");
        }
    }

    [Fact]
    public void Every_kernel_finds_the_same_neighbours_in_the_same_order()
    {
        var train = BitImages.Pack(TestData.Fashion.Train.Take(2000).Images, 60);
        var test = BitImages.Pack(TestData.Fashion.Test.Take(50).Images, 60);
        var reference = HammingSearch.Search(train, test, 50, SearchKernel.Scalar);
        foreach (var kernel in HammingSearch.Supported)
        {
            var nb = HammingSearch.Search(train, test, 50, kernel);
            Assert.Equal(reference.Index, nb.Index);
            Assert.Equal(reference.Distance, nb.Distance);
        }
    }

    [Fact]
    public void Every_kernel_finds_the_nearest_grey_image_by_cosine_exactly_with_or_without_the_bound()
    {
        var train = TestData.Fashion.Train.Take(700);
        var rng = new Random(5);
        var noise = new byte[3 * 784];
        rng.NextBytes(noise);
        var stroke = new byte[784];
        for (int r = 4; r < 24; r++) stroke[r * 28 + 14] = 255; // a glyph-like line: far from every garment
        var queries = TestData.Fashion.Test.Take(30).Images.Concat(noise).Concat(stroke).Concat(new byte[784]).Concat(train.Image(5).ToArray()).ToArray();
        var search = new CosineSearch(train.Images);
        for (int q = 0; q < queries.Length / 784; q++)
        {
            var query = queries.AsSpan(q * 784, 784).ToArray();
            double self = Math.Sqrt(query.Sum(p => (double)p * p)), best = 0;
            for (int t = 0; t < train.Count; t++)
            {
                var image = train.Image(t).ToArray();
                if (search.Norms[t] == 0) continue;
                long dot = 0;
                for (int p = 0; p < 784; p++) dot += query[p] * image[p];
                best = Math.Max(best, dot / (self * search.Norms[t]));
            }
            double expected = self == 0 ? 1 : Math.Max(0, 1 - best);
            foreach (var kernel in HammingSearch.Supported)
                foreach (bool prune in new[] { false, true })
                    Assert.Equal(expected, search.Distance(query, [3, q], kernel, prune)); // bit for bit, whatever is compared first
        }
        Assert.Equal(0, search.Distance(train.Image(5)), 12); // a training image finds itself
    }

    [Fact]
    public void Tuning_picks_on_validation_and_reports_test_once()
    {
        var train = TestData.Fashion.Train.Take(3000);
        var test = TestData.Fashion.Test.Take(300);
        var tuning = KnnTuner.Tune(train, test, [0, 60, 120], [1, 5], 0.2, 1);
        Assert.Equal(3000, tuning.ValCount + tuning.TrainCount);
        Assert.InRange(tuning.ValCount, 590, 610); // 20% of each class, rounded per class
        Assert.Equal(tuning.Trials.Max(t => t.ValAccuracy), tuning.Best.ValAccuracy);
        Assert.InRange(tuning.TestAccuracy, 0.6, 1.0);
    }
}
