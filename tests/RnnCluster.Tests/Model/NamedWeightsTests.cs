using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

public sealed class NamedWeightsTests
{
    private static readonly Network Net = new(new ModelSpec
    {
        InputFeatures = 2,
        Layers = [new LayerSpec { Kind = LayerKinds.Lstm, Units = 3 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }],
    }, new ManagedKernels());

    [Fact]
    public void Names_and_shapes_follow_keras_and_the_flat_layout()
    {
        var flat = Enumerable.Range(0, Net.ParameterCount).Select(i => (float)i).ToArray();
        var named = NamedWeights.FromFlat(Net, flat);
        Assert.Equal(["layer0.kernel", "layer0.recurrent_kernel", "layer0.bias", "dense.kernel", "dense.bias"], named.Select(w => w.Key));
        Assert.Equal([2, 12], named[0].Value.Shape);
        Assert.Equal([3, 12], named[1].Value.Shape);
        Assert.Equal([12], named[2].Value.Shape);
        Assert.Equal([3, 1], named[3].Value.Shape);
        // Layer order, no gaps: the kernel's first value is parameter 0, the dense bias the last.
        Assert.Equal(0f, named[0].Value.Data[0]);
        Assert.Equal(24f, named[1].Value.Data[0]);
        Assert.Equal(Net.ParameterCount - 1, named[4].Value.Data[0]);
        Assert.Equal(flat, NamedWeights.ToFlat(Net, named.AsEnumerable().Reverse()));
    }

    [Fact]
    public void Every_weight_exactly_once_with_its_shape()
    {
        var named = NamedWeights.FromFlat(Net, new float[Net.ParameterCount]);
        Assert.Equal("weight 'dense.bias' is missing", Assert.Throws<ModelException>(() => NamedWeights.ToFlat(Net, named.Take(4))).Message);
        Assert.Equal("weight 'dense.bias' is given twice", Assert.Throws<ModelException>(() => NamedWeights.ToFlat(Net, named.Append(named[4]))).Message);
        Assert.StartsWith("unknown weight 'extra'", Assert.Throws<ModelException>(() => NamedWeights.ToFlat(Net, named.Append(new("extra", Tensor.Zeros(1))))).Message);
        var wrong = named.Select((w, i) => i == 3 ? new KeyValuePair<string, Tensor>(w.Key, Tensor.Zeros(1, 3)) : w);
        Assert.Equal("weight 'dense.kernel' has shape (1, 3); expected (3, 1)", Assert.Throws<ModelException>(() => NamedWeights.ToFlat(Net, wrong)).Message);
        Assert.Throws<ModelException>(() => NamedWeights.FromFlat(Net, new float[Net.ParameterCount + 1]));
    }
}
