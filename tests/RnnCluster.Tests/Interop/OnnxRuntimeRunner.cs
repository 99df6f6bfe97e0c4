using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RnnCluster.Interop.Onnx;
using RnnCluster.Model;
using Tensor = RnnCluster.Model.Tensor;

namespace RnnCluster.Tests.Interop;

/// <summary>Runs an exported model in ONNX Runtime (CPU): x and the initial states in, the prediction and final states out.</summary>
internal sealed class OnnxRuntimeRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly ModelSpec _spec;
    private readonly IReadOnlyList<StateSlot> _slots;

    public OnnxRuntimeRunner(byte[] model, ModelSpec spec)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        _session = new InferenceSession(model, options);
        _spec = spec;
        _slots = new Network(spec, new RnnCluster.Numerics.ManagedKernels()).StateSlots;
    }

    public IReadOnlyList<string> InputNames => [.. _session.InputMetadata.Keys];

    public IReadOnlyList<string> OutputNames => [.. _session.OutputMetadata.Keys];

    /// <summary>The prediction and the final states (one per state slot) for x from the given initial states (null: zeros).</summary>
    public Prediction Run(Tensor x, IReadOnlyList<Tensor>? initialStates)
    {
        int batch = x.Shape[0];
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new DenseTensor<float>(x.Data, x.Shape)) };
        for (int k = 0; k < _slots.Count; k++)
        {
            var s = initialStates?[k] ?? Tensor.Zeros(batch, _slots[k].Units);
            inputs.Add(NamedOnnxValue.CreateFromTensor(OnnxExporter.InitialStateName(_spec, _slots[k]), new DenseTensor<float>(s.Data, s.Shape)));
        }
        using var results = _session.Run(inputs);
        Tensor Get(string name)
        {
            var t = results.Single(r => r.Name == name).AsTensor<float>();
            return new Tensor(t.ToArray(), [.. t.Dimensions.ToArray()]);
        }
        return new Prediction(Get(OnnxExporter.OutputName), [.. _slots.Select(s => Get(OnnxExporter.FinalStateName(_spec, s)))]);
    }

    public void Dispose() => _session.Dispose();
}
