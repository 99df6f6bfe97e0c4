using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;

namespace RnnCluster.Tests.Model;

public sealed class ValidationSplitTests
{
    [Theory]
    [InlineData(2048, 0.1, 1844, 204)]  // 204.8 rounds down
    [InlineData(100, 0.29, 71, 29)]     // 100 * 0.29 is 28.999999999999996 in binary floating point
    [InlineData(10, 0.3, 7, 3)]         // 3.0000000000000004
    [InlineData(10, 0.7, 3, 7)]
    [InlineData(7, 0.5, 4, 3)]
    [InlineData(5, 0, 5, 0)]
    [InlineData(0, 0.5, 0, 0)]
    [InlineData(3, 0.99, 1, 2)]
    public void Holds_out_the_floor_of_rows_times_the_fraction_as_written(int rows, double fraction, int train, int validation)
    {
        Assert.Equal(new ValidationSplit(train, validation), ValidationSplit.Of(rows, fraction));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Refuses_a_fraction_outside_zero_to_one(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ValidationSplit.Of(10, fraction));

    [Fact]
    public void The_job_check_and_fit_use_it()
    {
        var job = new JobSpec
        {
            Model = new JobModel { Layers = [new() { Kind = "simple_rnn", Units = 2 }, new() { Kind = "dense", Units = 1 }] },
            Data = new DataSpec(),
            BatchSize = 71,
            ValidationSplit = 0.29,
            Shuffle = false,
            States = new StatePolicy { Policy = StatePolicyKind.Stateful },
        };
        var x = Tensor.Zeros(100, 2, 1);
        var y = Tensor.Zeros(100, 1);
        // 71 training rows are one whole batch of 71; 72 (floor of the binary product) would not be.
        DataLoader.CheckFits(new Dataset(x, y, [], "zeros"), job);

        var model = new Sequential(new ManagedKernels(), new SimpleRnn(2, stateful: true), new Dense(1));
        model.Compile("mse", new Sgd());
        var history = model.Fit(x, y, batchSize: 71, epochs: 1, validationSplit: 0.29);
        Assert.Single(history.ValidationLoss);
    }
}
