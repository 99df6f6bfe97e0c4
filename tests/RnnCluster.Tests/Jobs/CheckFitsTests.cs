using RnnCluster.Jobs;
using RnnCluster.Model;
using Xunit;

namespace RnnCluster.Tests.Jobs;

public sealed class CheckFitsTests
{
    private static ModelSpec Model(int features, string kind = "lstm", int units = 4, int outputs = 1, bool returnSequences = false, string? activation = null) => new()
    {
        InputFeatures = features,
        Layers =
        [
            new LayerSpec { Kind = kind, Units = units, ReturnSequences = returnSequences },
            new LayerSpec { Kind = "dense", Units = outputs, Activation = activation },
        ],
    };

    private static Dataset Data(int n, int t, int d, int[] yShape, params int[][] stateShapes) => new(
        Tensor.Zeros(n, t, d), Tensor.Zeros(yShape), [.. stateShapes.Select(s => Tensor.Zeros(s))], "test data");

    [Fact]
    public void MatchingData_Passes()
    {
        DataLoader.CheckFits(Data(6, 3, 2, [6, 1], [6, 4], [6, 4]), Model(2), new MeanSquaredError(), StatePolicyKind.FromData);
        DataLoader.CheckFits(Data(6, 3, 2, [6, 3, 1]), Model(2, returnSequences: true), new MeanSquaredError(), StatePolicyKind.Zeros);
        DataLoader.CheckFits(Data(6, 3, 2, [6, 1]), Model(2, outputs: 5, activation: "softmax"), new SparseCategoricalCrossentropy(false), StatePolicyKind.Zeros);
    }

    [Fact]
    public void FeatureCount_Mismatch()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(6, 3, 3, [6, 1]), Model(1), new MeanSquaredError(), StatePolicyKind.Zeros));
        Assert.Equal("the data has 3 feature(s) per timestep (x (6, 3, 3)) but the model expects 1 (input_features)", e.Message);
    }

    [Fact]
    public void TargetShape_Mismatch()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(6, 3, 1, [6, 2]), Model(1), new MeanSquaredError(), StatePolicyKind.Zeros));
        Assert.Equal("y has shape (6, 2) but the model's output (1 unit(s)) with loss mse needs (6, 1)", e.Message);
    }

    [Fact]
    public void TargetShape_SequenceOutputHint()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(6, 3, 1, [6, 1]), Model(1, returnSequences: true), new MeanSquaredError(), StatePolicyKind.Zeros));
        Assert.StartsWith("y has shape (6, 1) but the model's output (1 unit(s)) with loss mse needs (6, 3, 1) (the last recurrent layer returns sequences", e.Message);
    }

    [Fact]
    public void SparseLabels_MustBeClassIndices()
    {
        var d = Data(4, 2, 1, [4, 1]);
        d.Y.Data[2] = 10;
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(d, Model(1, outputs: 10, activation: "softmax"), new SparseCategoricalCrossentropy(false), StatePolicyKind.Zeros));
        Assert.Equal("y row 2: label 10 is not a class index in [0, 10) for the model's 10 output unit(s)", e.Message);
    }

    [Fact]
    public void FromData_WithoutStates()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(6, 3, 1, [6, 1]), Model(1), new MeanSquaredError(), StatePolicyKind.FromData));
        Assert.Equal("state policy from_data needs initial states in the data, but test data has none (expected layer0.initial_state0 (6, 4), layer0.initial_state1 (6, 4); npz keys initial_state0 .. initial_state1)", e.Message);
    }

    [Fact]
    public void FromData_WrongStateCount()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(6, 3, 1, [6, 1], [6, 4]), Model(1), new MeanSquaredError(), StatePolicyKind.FromData));
        Assert.Equal("state policy from_data: the data has 1 initial state tensor(s) but the model has 2 state slot(s): layer0.initial_state0 (6, 4), layer0.initial_state1 (6, 4)", e.Message);
    }

    [Fact]
    public void FromData_WrongStateShape()
    {
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(6, 3, 1, [6, 1], [6, 8]), Model(1, kind: "gru"), new MeanSquaredError(), StatePolicyKind.FromData));
        Assert.Equal("state policy from_data: initial state 0 has shape (6, 8); the model's layer0.initial_state0 needs (6, 4)", e.Message);
    }

    [Fact]
    public void OtherPolicies_IgnoreDataStates()
    {
        DataLoader.CheckFits(Data(6, 3, 1, [6, 1], [6, 8]), Model(1, kind: "gru"), new MeanSquaredError(), StatePolicyKind.Zeros);
    }

    [Fact]
    public void StatefulJob_NeedsWholeBatches()
    {
        var job = new JobSpec
        {
            Model = new JobModel { Layers = [new() { Kind = "lstm", Units = 2 }, new() { Kind = "dense", Units = 1 }] },
            Data = new DataSpec(),
            BatchSize = 4,
            ValidationSplit = 0.2,
            Shuffle = false,
            States = new StatePolicy { Policy = StatePolicyKind.Stateful },
        };
        DataLoader.CheckFits(Data(20, 3, 1, [20, 1]), job); // 16 training rows
        var e = Assert.Throws<JobException>(() => DataLoader.CheckFits(Data(21, 3, 1, [21, 1]), job));
        Assert.StartsWith("a stateful job needs whole batches: 17 training rows (21 rows minus 4 for validation) is not a multiple of batch_size 4", e.Message);
    }
}
