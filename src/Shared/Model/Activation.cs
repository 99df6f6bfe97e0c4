namespace RnnCluster.Model;

/// <summary>Keras activation names supported by the engine.</summary>
public enum Activation
{
    Linear,
    Tanh,
    Relu,
    Sigmoid,
    Softmax,
}

public static class ActivationNames
{
    public static Activation Parse(string? name) => (name ?? "linear").Trim().ToLowerInvariant() switch
    {
        "" or "linear" or "none" => Activation.Linear,
        "tanh" => Activation.Tanh,
        "relu" => Activation.Relu,
        "sigmoid" => Activation.Sigmoid,
        "softmax" => Activation.Softmax,
        _ => throw new ModelException($"unknown activation '{name}': expected linear, tanh, relu, sigmoid or softmax"),
    };

    public static string ToName(this Activation a) => a.ToString().ToLowerInvariant();
}

/// <summary>A model, its data or its states do not fit together; the message says how.</summary>
public sealed class ModelException(string message) : Exception(message);
