// fmnist as a library: find the data, train briefly, evaluate, classify a photo, export to ONNX.
using Fmnist.Data;
using Fmnist.Experiments;
using Fmnist.Export;
using Fmnist.Features;
using Fmnist.Training;

// The data: $FASHION_MNIST_DIR, ~/.cache/fmnist, /usr/share/datasets/fashion-mnist, or downloaded.
var data = DataFiles.Load(new DataLocator().Locate(args.FirstOrDefault()).Directory);
Console.WriteLine($"{data.Train.Count:N0} training and {data.Test.Count:N0} test images from {data.Directory}");

// The library changes no process-wide setting unless asked: this program owns its process, so it asks for the
// CLI's tuning (libtorch threads, glibc malloc, a full GC per epoch): training runs much faster with it.
TrainingWorkflow.TuneProcess();

// The seed's CNN+LSTM, briefly: one epoch on 6,000 images (about a minute on two cores).
var runDir = Path.Combine(Path.GetTempPath(), "fmnist-quickstart");
if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
var config = new TrainConfig { Epochs = 1, TrainLimit = 6000, Augment = AugmentMode.None };
var run = TrainingWorkflow.TrainAndTest(data, config, runDir, testLimit: 2000);
Console.WriteLine($"validation {run.ValAccuracy:P2}, test {run.TestAccuracy:P2} after {run.Seconds:F0} s");

// Evaluate: per-class scores and a confusion matrix (PNG).
var report = EvaluationWorkflow.Evaluate(runDir, data.Test.Take(2000));
var worst = report.Metrics.PerClass.MinBy(c => c.F1)!;
Console.WriteLine($"accuracy {report.Metrics.Accuracy:P2}; hardest class {worst.Class} (F1 {worst.F1:F2}); {report.ConfusionPng}");

// A photo: grayscale, inverted, cropped and resized to 28x28 like the dataset, then classified, with calibrated
// probabilities and whether it is a garment the model can classify at all.
var photo = Path.Combine(AppContext.BaseDirectory, "sneaker.png");
var prediction = EvaluationWorkflow.Predict([runDir], [photo], data.Train).Predictions[0];
var top = prediction.Top[0];
Console.WriteLine($"{Path.GetFileName(photo)}: {top.Class} ({top.Probability:P1}){(prediction.Recognized ? "" : $"; not recognized: {prediction.Reason}")}");

// ONNX: raw pixels in, probabilities out; runs in ONNX Runtime without libtorch.
var onnx = OnnxExporter.Export(runDir);
Console.WriteLine($"exported {onnx.File} ({onnx.Bytes / 1024} KB)");
