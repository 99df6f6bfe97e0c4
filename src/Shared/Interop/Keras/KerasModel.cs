using RnnCluster.Model;

namespace RnnCluster.Interop.Keras;

/// <summary>
/// A Keras model read from a <c>config.json</c> (and its weights from <c>model.weights.h5</c>):
/// our model description, and for each state slot of the model (h, then c for LSTM, layer by
/// layer) the name of the Keras Input that gives it as <c>initial_state</c>, or null when the
/// layer starts from zeros. A model with state inputs is trained with the state policy
/// <c>from_data</c>: the states are part of each row.
/// </summary>
public sealed record KerasModel(string Name, ModelSpec Spec, IReadOnlyList<string?> StateInputs, int? Timesteps)
{
    /// <summary>The model's weights, when the archive had them.</summary>
    public ModelWeights? Weights { get; init; }

    /// <summary>Keras version from metadata.json, when there is one.</summary>
    public string? KerasVersion { get; init; }

    /// <summary>The class of the top-level model: Sequential or Functional.</summary>
    public string ModelClass { get; init; } = "Sequential";

    public string DataInputName { get; init; } = "input_layer";

    public bool HasStateInputs => StateInputs.Any(s => s is not null);
}
