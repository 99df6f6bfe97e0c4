using System.Globalization;

namespace RnnCluster.Model;

/// <summary>
/// Keras Embedding: each timestep's one input feature is a token id in [0, input_dim); the
/// output is row id of the <c>embeddings</c> matrix (input_dim x output_dim). With mask_zero,
/// token 0 is padding: its steps are masked for the layers after it (Keras's compute_mask).
/// The gradient is sparse: only the rows of the tokens in the batch receive anything, added
/// there step by step (no product over the vocabulary).
/// </summary>
internal sealed class EmbeddingLayer : RuntimeLayer
{
    private readonly WeightInfo _embeddings;
    private readonly int _vocabulary;
    private readonly int _width;

    public EmbeddingLayer(int index, LayerSpec spec, string name, int inputWidth, ref int offset)
        : base(index, spec, inputWidth, inputIsSequence: true)
    {
        _vocabulary = spec.InputDim!.Value;
        _width = spec.OutputDim!.Value;
        _embeddings = new WeightInfo($"{name}.embeddings", [_vocabulary, _width], offset, _vocabulary * _width);
        offset += _embeddings.Length;
        Weights = [_embeddings];
    }

    public override int OutputWidth => _width;
    public override bool OutputIsSequence => true;
    public override IReadOnlyList<WeightInfo> Weights { get; }

    /// <summary>The embeddings matrix, for Keras's initializer (uniform in [-0.05, 0.05]).</summary>
    public WeightInfo Embeddings => _embeddings;

    private sealed class Buffers(int batch, int timesteps, int width) : MaskSourceBuffers(batch, timesteps, width)
    {
        public int[] Ids { get; } = new int[batch * timesteps];
    }

    public override LayerBuffers Allocate(int batch, int timesteps) => new Buffers(batch, timesteps, _width);

    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, LayerBuffers buffers)
    {
        var b = (Buffers)buffers;
        var table = Of(parameters, _embeddings);
        bool any = false;
        for (int q = 0; q < b.Ids.Length; q++)
        {
            float v = input[q];
            int id = (int)v;
            if (id != v || id < 0 || id >= _vocabulary)
                throw new ModelException($"embedding: input {v.ToString(CultureInfo.InvariantCulture)} at row {q % b.Batch}, timestep {q / b.Batch} is not a token id in [0, {_vocabulary})");
            b.Ids[q] = id;
            table.Slice(id * _width, _width).CopyTo(b.Out.AsSpan(q * _width, _width));
            bool keep = !Spec.MaskZero || id != 0;
            b.Mask[q] = keep ? 1f : 0f;
            any |= !keep;
        }
        b.AnyMasked = any;
    }

    public override void Backward(ReadOnlySpan<float> parameters, Span<float> gradients, ReadOnlySpan<float> input,
        ReadOnlySpan<float> outputGrad, LayerBuffers buffers, Span<float> inputGrad)
    {
        var b = (Buffers)buffers;
        var grad = Of(gradients, _embeddings);
        grad.Clear();
        for (int q = 0; q < b.Ids.Length; q++)
        {
            var row = grad.Slice(b.Ids[q] * _width, _width);
            var d = outputGrad.Slice(q * _width, _width);
            for (int j = 0; j < row.Length; j++) row[j] += d[j];
        }
        // Token ids have no gradient.
        if (!inputGrad.IsEmpty) inputGrad.Clear();
    }
}
