using System.CommandLine;
using Fmnist.Inference;
using Fmnist.Serve;

namespace Fmnist.Cli.Commands;

/// <summary>`serve`: the web page and JSON API for one trained model (see docs/serve.md).</summary>
internal static class ServeCommand
{
    public static Command Create(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var model = new Option<string?>("--model")
        {
            Description = "Run folder (config.json + model.pt) or exported .onnx file [default: the newest finished run under runs/]",
        };
        // Defaults live in the descriptions and are applied in the action: an option with a DefaultValueFactory
        // would print its default a second time in --help.
        // ASP.NET's own ';' between addresses still works inside one value: ServeOptions splits the joined list at ';'.
        var urls = Common.List("--urls", $"Where to listen ({Common.ListForm}) [default: {ServeOptions.DefaultUrls}, loopback only]", v => v.Replace(',', ';'), "URL");
        var batch = new Option<int?>("--max-batch")
        {
            Description = $"Most images per forward pass shared by concurrent requests; 1 turns batching off [default: {ServeOptions.DefaultBatch}]",
        };
        var wait = new Option<double?>("--batch-wait-ms")
        {
            Description = $"How long a request waits for others to join its batch [default: {ServeOptions.DefaultBatchWaitMs}]",
        };
        var queue = new Option<int?>("--queue-limit")
        {
            Description = $"Most requests waiting for a forward pass; one more is refused with 503 and Retry-After [default: {ServeLimits.DefaultQueueLimit}]",
        };
        var deadline = new Option<int?>("--deadline-ms")
        {
            Description = $"A request not answered in this time gets 504, and its images are dropped if their pass has not started; SIGTERM waits this plus 5 s for requests in flight [default: {ServeLimits.DefaultDeadlineMs}]",
        };
        var connections = new Option<int?>("--max-connections")
        {
            Description = $"Most open connections; more are closed as they arrive [default: {ServeLimits.DefaultMaxConnections}]",
        };
        var pixelBudget = new Option<double?>("--pixel-budget-mp")
        {
            Description = $"Most megapixels (from the image headers, summed) one predict request may ask to decode; more is refused with 413 before decoding [default: {ServeLimits.DefaultPixelBudget / 1_000_000}]",
        };
        var decodeLimit = new Option<int?>("--decode-limit")
        {
            Description = $"Most requests decoding images at once; one more waits up to {ServeLimits.DefaultDecodeWait.TotalSeconds:0} s, then gets 503 and Retry-After [default: one per core]",
        };
        var bodyBudget = new Option<int?>("--body-budget-mb")
        {
            Description = $"Most megabytes of request bodies held by all requests at once, reserved before they are read; one that does not fit is refused with 503 and Retry-After [default: {ServeLimits.DefaultBodyBudgetBytes / ServeLimits.Megabyte}]",
        };
        var tta = ModelCommands.TtaOption();
        tta.Description = "Test-time augmentation for every answer (each image's views go through the model and their probabilities are averaged; costs as many times the compute): none, flip, shift, flip-shift (10 views), flip-diagonal or flip-shift2 (18 views each; see `evaluate --help`); a bare --tta is flip";
        var apiKey = new Option<string?>("--api-key")
        {
            Description = $"Require `Authorization: Bearer KEY` on /api/* (401 otherwise); needed to listen off loopback [default: ${ServeOptions.ApiKeyVariable}, else none]",
        };
        var command = new Command("serve", "Serve a trained model: a web page at / and a JSON API (/api/predict, /api/model, /api/samples/random, /health, /openapi/v1.json)")
            { dataDir, json, model, urls, batch, wait, queue, deadline, connections, pixelBudget, decodeLimit, bodyBudget, apiKey, tta,
                Common.Renamed("--batch", "--max-batch", "most images per forward pass: --batch-size is a training mini-batch") };
        command.SetAction(parse =>
        {
            var status = parse.GetValue(json) ? io.Stderr : io.Stdout;
            var key = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ServeOptions.ApiKeyVariable);
            var budget = parse.GetValue(pixelBudget) is double mp ? (long)Math.Round(Math.Clamp(mp, -1, 1e7) * 1e6) : ServeLimits.DefaultPixelBudget;
            var limits = new ServeLimits(parse.GetValue(queue) ?? ServeLimits.DefaultQueueLimit,
                parse.GetValue(deadline) ?? ServeLimits.DefaultDeadlineMs, parse.GetValue(connections) ?? ServeLimits.DefaultMaxConnections,
                PixelBudget: budget, DecodeLimit: parse.GetValue(decodeLimit),
                BodyBudgetBytes: parse.GetValue(bodyBudget) is int mb ? mb * ServeLimits.Megabyte : ServeLimits.DefaultBodyBudgetBytes);
            var options = new ServeOptions(parse.GetValue(urls) ?? ServeOptions.DefaultUrls, parse.GetValue(batch) ?? ServeOptions.DefaultBatch,
                parse.GetValue(wait) ?? ServeOptions.DefaultBatchWaitMs, Limits: limits,
                ApiKey: string.IsNullOrEmpty(key) ? null : key);
            // Before the model and the data load: a refused address or key is told at once.
            options.Validate();
            var path = parse.GetValue(model);
            if (path is null)
            {
                path = RunDiscovery.Newest("runs")
                       ?? throw new FmnistException("no finished run under runs/ to serve: train one with `./fmnist reproduce --quick` (about a minute), or pass --model");
                // An ensemble folder counts as a run here: the line CI greps stays the same.
                status.WriteLine($"Serving the newest finished run: {path} (pick another with --model)");
            }
            Classifiers.Check(path);
            // The test set feeds /api/samples/random; the training set (~47 MB) the neighbours of explain=true.
            var data = Common.Load(parse.GetValue(dataDir)).Data;
            using var classifier = TtaClassifier.Wrap(Classifiers.Open(path), parse.GetValue(tta));
            return Run(io, classifier, options with { Samples = data.Test, Train = data.Train, Trust = Classifiers.Trust(path, classifier) }, parse.GetValue(json)).GetAwaiter().GetResult();
        });
        return command;
    }

    private static async Task<int> Run(CliIo io, IClassifier classifier, ServeOptions options, bool json)
    {
        await using var host = new ServeHost(classifier, options);
        try
        {
            await host.StartAsync();
        }
        catch (IOException e)
        {
            // Kestrel reports a taken port or an unusable address as an IOException.
            throw new FmnistException($"cannot listen on {options.Urls}: {e.Message.ReplaceLineEndings(" ")}");
        }
        var d = classifier.Description;
        if (json)
        {
            io.WriteJson(new ServeJson(
                Urls: host.Addresses, Model: d.Source, Runtime: d.Runtime, Parameters: d.Parameters, TestAccuracy: d.TestAccuracy,
                Batch: options.Batch, BatchWaitSeconds: options.BatchWaitMs / 1000, QueueLimit: options.Limit.QueueLimit,
                DeadlineSeconds: options.Limit.DeadlineMs / 1000.0, PixelBudget: options.Limit.PixelBudget, DecodeLimit: options.Limit.Decoders,
                ApiKey: options.ApiKey is not null), ServeJson.Schema);
        }
        else
        {
            var batching = options.Batch > 1 ? $"batching up to {options.Batch} images, {options.BatchWaitMs} ms wait" : "batching off";
            io.Stdout.WriteLine($"Serving {d.Source} ({d.Runtime}, {d.Parameters:N0} parameters; {batching}; "
                                + $"queue limit {options.Limit.QueueLimit}, deadline {options.Limit.DeadlineMs} ms, "
                                + $"{options.Limit.PixelBudget / 1e6:0.#} MP a request, {options.Limit.Decoders} decoding at once, "
                                + $"{options.Limit.BodyBudgetBytes / ServeLimits.Megabyte} MB of bodies in flight{(options.ApiKey is null ? "" : "; API key required on /api/*")})");
            foreach (var url in host.Addresses) io.Stdout.WriteLine($"Listening on {url}  (page: {url}/, API: {url}/openapi/v1.json)");
            io.Stdout.WriteLine("Press Ctrl-C to stop.");
        }
        io.Stdout.Flush();
        await host.WaitForShutdownAsync();
        io.Stderr.WriteLine("fmnist serve: stopped");
        return 0;
    }
}
