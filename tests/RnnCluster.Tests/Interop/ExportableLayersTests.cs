using RnnCluster.Interop;
using RnnCluster.Interop.Keras;
using RnnCluster.Interop.Onnx;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Interop;

/// <summary>The writers refuse the layer kinds they do not cover yet, naming the layer, instead of writing a wrong file.</summary>
public sealed class ExportableLayersTests
{
    private static Sequential MaskedModel()
    {
        var model = new Sequential(new ManagedKernels(), new Masking(0f), new Lstm(3), new Dense(1));
        model.Build(2, 4);
        return model;
    }

    [Fact]
    public void Onnx_export_of_a_masking_layer_is_refused_naming_it()
    {
        var e = Assert.Throws<ModelException>(() => OnnxExporter.ToBytes(ModelWeights.Of(MaskedModel())));
        Assert.Equal("layer 0 (masking): writing masking layers to ONNX is not supported yet (only simple_rnn, lstm, gru and dense)", e.Message);
    }

    [Fact]
    public void Keras_weights_of_a_masking_layer_are_refused_naming_it()
    {
        using var stream = new MemoryStream();
        var e = Assert.Throws<ModelException>(() => KerasWeightsFile.Write(stream, ModelWeights.Of(MaskedModel())));
        Assert.StartsWith("layer 0 (masking): writing masking layers to a Keras weights file is not supported yet", e.Message);
        Assert.Equal(0, stream.Length);
    }

    [Fact]
    public void A_plain_stack_passes_the_check()
    {
        var model = new Sequential(new ManagedKernels(), new Gru(3), new Dense(1));
        model.Build(2, 4);
        ExportableLayers.Check(model.Spec, "ONNX");
        Assert.NotEmpty(OnnxExporter.ToBytes(ModelWeights.Of(model)));
    }
}
