using RnnCluster.Model;

namespace RnnCluster.Interop;

/// <summary>
/// The layer kinds the writers (ONNX, Keras .weights.h5 and .keras) cover: the recurrent kinds and
/// Dense. Masking and Embedding arrived with the sequence-features work after the writers; until
/// they are written too, a model with them is refused naming the layer, not written wrong.
/// </summary>
public static class ExportableLayers
{
    public static void Check(ModelSpec spec, string format)
    {
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var kind = spec.Layers[i].Kind;
            if (kind is LayerKinds.Masking or LayerKinds.Embedding)
                throw new ModelException($"layer {i} ({kind}): writing {kind} layers to {format} is not supported yet (only simple_rnn, lstm, gru and dense)");
        }
    }
}
