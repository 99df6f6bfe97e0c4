namespace RnnCluster.Protocol;

/// <summary>
/// Marker for every message that crosses between client, coordinator and workers. The binary
/// <see cref="ProtocolSerializer"/> is bound to it; nothing here may fall back to JSON.
/// </summary>
public interface IProtocolMessage;

/// <summary>A named tensor (weights by Keras name).</summary>
public sealed record NamedTensor(string Name, Model.Tensor Value);
