using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Jobs;

public sealed class DefaultJobTests(ITestOutputHelper output)
{
    [Fact]
    public void DefaultJsonFile_EqualsDefaultJobSpec()
    {
        var fromFile = JobSpec.Load(JobTestSupport.JobFile("default.json"));
        Assert.Equal(DefaultJob.Spec.ToJson(), fromFile.ToJson());
    }

    [Fact]
    public void DefaultJobSpec_IsValidAndRoundTrips()
    {
        DefaultJob.Spec.Validate("default");
        var back = JobSpec.FromJson(DefaultJob.Spec.ToJson(), "default");
        Assert.Equal(DefaultJob.Spec.ToJson(), back.ToJson());
        Assert.Equal(StatePolicyKind.FromData, back.States.Policy);
        Assert.Equal("phase_level", back.Data.EffectiveBuiltin);
    }

    [Fact]
    public void DefaultJob_LearnsFromTheInitialState()
    {
        var job = DefaultJob.Spec;
        var data = DataLoader.Load(job, "default");
        DataLoader.CheckFits(data, job);
        var result = JobTestSupport.Train(job, data, new MklKernels());
        output.WriteLine($"loss {string.Join(", ", result.Loss.Select(l => l.ToString("0.0000")))}");
        output.WriteLine($"val_loss {string.Join(", ", result.ValLoss.Select(l => l.ToString("0.0000")))}");
        output.WriteLine($"elapsed {result.Elapsed.TotalSeconds:0.0} s");
        Assert.True(result.ValLoss[^1] < 0.1, $"val_loss {result.ValLoss[^1]} is not well below 1/3");
        Assert.True(result.Loss[^1] < 0.1, $"loss {result.Loss[^1]} is not well below 1/3");
    }

    [Fact]
    public void IgnoringTheInitialState_StaysNearAThird()
    {
        var job = DefaultJob.Spec with { States = new StatePolicy { Policy = StatePolicyKind.Zeros } };
        var data = DataLoader.Load(job, "default");
        var result = JobTestSupport.Train(job, data, new MklKernels());
        output.WriteLine($"zero states: loss {result.Loss[^1]:0.0000}, val_loss {result.ValLoss[^1]:0.0000}");
        Assert.True(result.ValLoss[^1] > 0.25, $"val_loss {result.ValLoss[^1]} without the level should stay near 1/3");
    }
}
