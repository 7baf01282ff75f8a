using Fmnist.Features;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>The classic first test of a network: a few optimiser steps on one small real batch must cut the loss.</summary>
public static class LossCheck
{
    /// <summary>Trains <paramref name="net"/> for <paramref name="steps"/> steps on the first 64 training images; returns the first and last loss.</summary>
    public static (float First, float Last) OnTinyBatch(nn.Module<Tensor, Tensor> net, optim.Optimizer optimizer, int steps)
    {
        var slice = TestData.Fashion.Train.Take(64);
        var norm = Normalization.FromImages(slice);
        using var x = Evaluation.Evaluator.ToInput(Evaluation.Evaluator.ImageTensor(slice.Images), norm);
        using var y = Evaluation.Evaluator.LabelTensor(slice.Labels);
        net.train();
        float first = 0, last = 0;
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(net.call(x), y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        return (first, last);
    }
}
