using RnnCluster.Coordinator.Cli;
using Xunit;

namespace RnnCluster.Tests.Cli;

public sealed class ProgressBarTests
{
    [Fact]
    public void ProgressBar_Format()
    {
        Assert.Equal("epoch 2/6 [#############-----------------] 45/100 loss 0.0123  5400 samples/s  ETA 0:12",
            ProgressBar.Format(45, 100, "epoch 2/6", 0.0123, 5400.4, TimeSpan.FromSeconds(12)));
        Assert.Equal("epoch 1/1 [####################] 10/10 loss 1.23e-05  2.5 samples/s  ETA 1:01:05",
            ProgressBar.Format(10, 10, "epoch 1/1", 1.23e-5, 2.5, TimeSpan.FromSeconds(3665), width: 20));
        Assert.Equal("[----------] 0/0 loss nan  ? samples/s  ETA ?",
            ProgressBar.Format(0, 0, "", double.NaN, double.NaN, TimeSpan.FromSeconds(-1), width: 10));
    }
}
