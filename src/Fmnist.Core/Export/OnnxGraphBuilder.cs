using Google.Protobuf;
using Onnx;

namespace Fmnist.Export;

/// <summary>
/// Builds an ONNX graph one layer at a time. Each emit method takes the name of its input value and
/// returns the name of its output, so an architecture's exporter reads like its forward():
/// <c>x = g.Relu(g.Conv(x, "conv1a", w, b))</c>. Weights become initializers named after the PyTorch
/// parameter they came from. Layer helpers are generic (conv, batchnorm, relu, add, pools, lstm, linear),
/// so a new architecture only adds its own wiring.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const int Opset = 17;

    /// <summary>IR 8 is what opset 17 needs and what onnx 1.12's checker accepts (ONNX Runtime reads up to 10+).</summary>
    public const long IrVersion = 8;

    private const int FloatType = (int)TensorProto.Types.DataType.Float, Int64Type = (int)TensorProto.Types.DataType.Int64;

    private readonly GraphProto graph = new() { Name = "fmnist" };
    private int counter;

    /// <summary>Put before every initializer name: "m1." while one member of an ensemble is emitted, so the
    /// members' weights keep apart in one graph.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>A new unique value name with a readable prefix.</summary>
    private string Fresh(string prefix) => $"{prefix}_{counter++}";

    /// <summary>A float32 graph input; null dims are dynamic and named by <paramref name="dimNames"/>.</summary>
    public string Input(string name, long?[] dims, string[]? dimNames = null)
    {
        graph.Input.Add(ValueInfo(name, dims, dimNames));
        return name;
    }

    /// <summary>Exposes <paramref name="value"/> as a graph output named <paramref name="name"/> (via Identity when the names differ).</summary>
    public void Output(string value, string name, long?[] dims, string[]? dimNames = null)
    {
        if (value != name) Node("Identity", [value], [name]);
        graph.Output.Add(ValueInfo(name, dims, dimNames));
    }

    public string Constant(string name, float[] data, params long[] dims)
    {
        if (data.Length != dims.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"{name}: {data.Length} values do not fill shape [{string.Join(",", dims)}]");
        name = Prefix + name;
        var t = new TensorProto { Name = name, DataType = FloatType };
        t.Dims.AddRange(dims);
        var bytes = new byte[data.Length * sizeof(float)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length); // ONNX raw_data is little-endian, as is x64
        t.RawData = ByteString.CopyFrom(bytes);
        graph.Initializer.Add(t);
        return name;
    }

    public string Constant(string name, long[] data)
    {
        name = Prefix + name;
        var t = new TensorProto { Name = name, DataType = Int64Type };
        t.Dims.Add(data.Length);
        t.Int64Data.AddRange(data);
        graph.Initializer.Add(t);
        return name;
    }

    public string Scalar(string name, float value) => Constant(name, [value]);

    public string Node(string op, string[] inputs, string[]? outputs = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(op) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs ?? [Fresh(op.ToLowerInvariant())]);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return node.Output[0];
    }

    // ---- Layers ----

    /// <summary>2-D convolution, weight [out, in, k, k], symmetric zero padding; no bias input when <paramref name="b"/> is null.</summary>
    public string Conv(string x, string name, Weights w, Weights? b, int padding, int stride = 1)
    {
        int k = (int)w.Shape[^1];
        string[] inputs = b is null
            ? [x, Constant($"{name}.weight", w.Data, w.Shape)]
            : [x, Constant($"{name}.weight", w.Data, w.Shape), Constant($"{name}.bias", b.Data, b.Shape)];
        return Node("Conv", inputs, null,
            Ints("kernel_shape", k, k), Ints("pads", padding, padding, padding, padding), Ints("strides", stride, stride));
    }

    /// <summary>Batch normalization in inference form (running statistics).</summary>
    public string BatchNorm(string x, string name, Weights scale, Weights bias, Weights mean, Weights variance, double eps) =>
        Node("BatchNormalization",
            [x, Constant($"{name}.weight", scale.Data, scale.Shape), Constant($"{name}.bias", bias.Data, bias.Shape),
             Constant($"{name}.running_mean", mean.Data, mean.Shape), Constant($"{name}.running_var", variance.Data, variance.Shape)],
            null, Float("epsilon", (float)eps));

    /// <summary>
    /// A bias-free conv followed by inference-mode BatchNorm as one conv: per output channel o,
    /// s = scale[o]/sqrt(var[o]+eps), W'[o] = W[o]*s, b'[o] = bias[o] - mean[o]*s. Computed in double so the
    /// folding adds no rounding beyond the final cast to float.
    /// </summary>
    public static (Weights Weight, Weights Bias) FoldBatchNorm(Weights conv, Weights scale, Weights bias, Weights mean, Weights variance, double eps)
    {
        int outChannels = (int)conv.Shape[0];
        if (scale.Data.Length != outChannels || bias.Data.Length != outChannels || mean.Data.Length != outChannels || variance.Data.Length != outChannels)
            throw new ArgumentException($"BatchNorm of {scale.Data.Length} channels cannot fold into a conv of {outChannels} output channels");
        int per = conv.Data.Length / outChannels; // in * k * k values per output channel
        var w = new float[conv.Data.Length];
        var b = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            double s = scale.Data[o] / Math.Sqrt(variance.Data[o] + eps);
            for (int i = o * per; i < (o + 1) * per; i++) w[i] = (float)(conv.Data[i] * s);
            b[o] = (float)(bias.Data[o] - mean.Data[o] * s);
        }
        return (new Weights(w, conv.Shape), new Weights(b, [outChannels]));
    }

    public string Relu(string x) => Node("Relu", [x]);

    /// <summary>Exact GELU, x * (1 + erf(x / sqrt 2)) / 2 (PyTorch's default; ONNX has a Gelu op only from opset 20).</summary>
    public string Gelu(string x)
    {
        var erf = Node("Erf", [Node("Mul", [x, Scalar(Fresh("inv_sqrt2"), (float)(1 / Math.Sqrt(2)))])]);
        var half = Node("Mul", [x, Scalar(Fresh("half"), 0.5f)]);
        return Node("Mul", [half, Node("Add", [erf, Scalar(Fresh("one"), 1f)])]);
    }

    /// <summary>(B,C,H,W) -> (B,C): the largest value of each feature map.</summary>
    public string GlobalMaxPool(string x) => Node("Flatten", [Node("GlobalMaxPool", [x])], null, Int("axis", 1));

    /// <summary>Mean over <paramref name="axis"/>, which is dropped.</summary>
    public string Mean(string x, long axis) => Node("ReduceMean", [x], null, Ints("axes", axis), Int("keepdims", 0));

    /// <summary>Values concatenated along <paramref name="axis"/>.</summary>
    public string Concat(string[] xs, long axis) => xs.Length == 1 ? xs[0] : Node("Concat", xs, null, Int("axis", axis));

    /// <summary>(B,C,H,W) mirrored left-right: a slice of the last axis with step -1.</summary>
    public string FlipWidth(string x) =>
        Node("Slice", [x, Constant(Fresh("starts"), [-1L]), Constant(Fresh("ends"), [long.MinValue]), Constant(Fresh("axes"), [3L]), Constant(Fresh("steps"), [-1L])]);

    /// <summary>(B,C,H,W) moved by (dx, dy) pixels (positive: right, down) with zeros shifted in.</summary>
    public string Shift(string x, int dx, int dy, int height, int width)
    {
        // ONNX pads: begin of every axis, then end of every axis
        var padded = Node("Pad", [x, Constant(Fresh("pads"), [0L, 0, Math.Max(dy, 0), Math.Max(dx, 0), 0, 0, Math.Max(-dy, 0), Math.Max(-dx, 0)])]);
        long top = Math.Max(-dy, 0), left = Math.Max(-dx, 0);
        return Node("Slice", [padded, Constant(Fresh("starts"), [top, left]), Constant(Fresh("ends"), [top + height, left + width]), Constant(Fresh("axes"), [2L, 3L])]);
    }

    /// <summary>Elementwise sum of two same-shaped values (a residual connection).</summary>
    public string Add(string a, string b) => Node("Add", [a, b]);

    /// <summary>(B,C,H,W) -> (B,C): mean over each feature map, then the two unit dimensions dropped.</summary>
    public string GlobalAveragePool(string x) => Node("Flatten", [Node("GlobalAveragePool", [x])], null, Int("axis", 1));

    public string MaxPool(string x, int size) =>
        Node("MaxPool", [x], null, Ints("kernel_shape", size, size), Ints("strides", size, size));

    /// <summary>PyTorch Linear (y = x W^T + b) as Gemm; x must be 2-D.</summary>
    public string Linear(string x, string name, Weights w, Weights b) =>
        Node("Gemm", [x, Constant($"{name}.weight", w.Data, w.Shape), Constant($"{name}.bias", b.Data, b.Shape)], null,
            Int("transB", 1));

    /// <summary>
    /// One-layer unidirectional LSTM from PyTorch weights. Input is sequence-first (T, B, I); output
    /// Y is (T, 1, B, H). ONNX orders the gates i, o, f, c where PyTorch has i, f, g, o, so the four
    /// blocks of every weight and bias are reordered; ONNX's B is bias_ih and bias_hh concatenated.
    /// (ONNX's batch-first layout=1 exists, but ONNX Runtime 1.31.1's CPU LSTM refuses to load it: "Batchwise
    /// recurrent operations (layout == 1) are not supported"; so callers transpose to sequence-first.)
    /// </summary>
    public string Lstm(string x, string name, Weights weightIh, Weights weightHh, Weights biasIh, Weights biasHh)
    {
        long h = weightHh.Shape[1];
        var w = ReorderGates(weightIh.Data, h);
        var r = ReorderGates(weightHh.Data, h);
        var bias = ReorderGates(biasIh.Data, h).Concat(ReorderGates(biasHh.Data, h)).ToArray();
        return Node("LSTM",
            [x, Constant($"{name}.W", w, 1, 4 * h, weightIh.Shape[1]), Constant($"{name}.R", r, 1, 4 * h, h), Constant($"{name}.B", bias, 1, 8 * h)],
            null, Int("hidden_size", h), String("direction", "forward"));
    }

    /// <summary>PyTorch gate blocks (i, f, g, o), each <paramref name="hidden"/> rows, to ONNX's (i, o, f, c).</summary>
    public static float[] ReorderGates(float[] pytorch, long hidden)
    {
        int block = checked((int)(pytorch.Length / 4));
        if (block * 4 != pytorch.Length || block % hidden != 0) throw new ArgumentException($"LSTM weight of {pytorch.Length} values is not 4 gate blocks of {hidden} rows");
        var onnx = new float[pytorch.Length];
        int[] from = [0, 3, 1, 2]; // ONNX block k comes from PyTorch block from[k]
        for (int k = 0; k < 4; k++) Array.Copy(pytorch, from[k] * block, onnx, k * block, block);
        return onnx;
    }

    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], null, Ints("perm", perm));

    /// <summary>Reshape where 0 copies the input's dimension and -1 is inferred (keeps the batch dynamic).</summary>
    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Constant(Fresh("shape"), shape)]);

    public string Softmax(string x, int axis = 1) => Node("Softmax", [x], null, Int("axis", axis));

    /// <summary>The model as ONNX: the graph plus opset, producer and metadata properties.</summary>
    public ModelProto Build(IReadOnlyDictionary<string, string> metadata, string producerVersion)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "fmnist",
            ProducerVersion = producerVersion,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    // ---- Protobuf helpers ----

    private static ValueInfoProto ValueInfo(string name, long?[] dims, string[]? dimNames)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(dims[i] is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v }
                : new TensorShapeProto.Types.Dimension { DimParam = dimNames?[i] ?? $"d{i}" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType, Shape = shape } },
        };
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}

/// <summary>One parameter or buffer copied out of a module: float values and the PyTorch shape.</summary>
internal sealed record Weights(float[] Data, long[] Shape);
