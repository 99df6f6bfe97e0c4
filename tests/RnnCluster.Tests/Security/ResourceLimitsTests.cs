using Akka.TestKit.Xunit2;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Security;
using RnnCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Security;

/// <summary>
/// Resource limits: an oversized layer, model or data set is refused with one line naming the
/// limit, in the CLI (exit 1, no stack trace) and in the coordinator (which stays up).
/// </summary>
public sealed class ResourceLimitsTests(ITestOutputHelper output) : TestKit(AkkaConfig.ForTests(), nameof(ResourceLimitsTests), output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static JobSpec WithUnits(int units) => SmallJob("huge") with
    {
        Model = new JobModel { Layers = [new LayerSpec { Kind = LayerKinds.Lstm, Units = units }, new LayerSpec { Kind = LayerKinds.Dense, Units = 1 }] },
    };

    [Fact]
    public void A_billion_units_is_refused_naming_the_limit()
    {
        var e = Assert.Throws<JobException>(() => JobSpec.FromJson(WithUnits(1_000_000_000).ToJson(), "huge.json"));
        Assert.Equal($"huge.json: layer 0 (lstm): units 1000000000 is above the limit of 65536 units per layer ({ResourceLimits.MaxUnitsVariable})", e.Message);
    }

    [Fact]
    public void The_parameter_limit_counts_the_whole_model_in_64_bits()
    {
        // 4 layers of 60,000 units each stay under the unit limit but hold ~8.6e10 weights, which
        // would overflow an int.
        var spec = new ModelSpec
        {
            InputFeatures = 3,
            Layers = [.. Enumerable.Range(0, 4).Select(_ => new LayerSpec { Kind = LayerKinds.Gru, Units = 60_000, ReturnSequences = true })],
        };
        Assert.True(spec.ParameterCount() > int.MaxValue);
        var e = Assert.Throws<ModelException>(() => spec.Validate());
        Assert.Contains("parameters, above the limit of 268,435,456", e.Message);
        Assert.Contains(ResourceLimits.MaxParametersVariable, e.Message);
    }

    [Theory]
    [InlineData(LayerKinds.SimpleRnn)]
    [InlineData(LayerKinds.Lstm)]
    [InlineData(LayerKinds.Gru)]
    public void The_counted_parameters_are_the_networks(string kind)
    {
        var spec = new ModelSpec
        {
            InputFeatures = 5,
            Layers = [new LayerSpec { Kind = kind, Units = 7, ReturnSequences = true }, new LayerSpec { Kind = kind, Units = 3 }, new LayerSpec { Kind = LayerKinds.Dense, Units = 2 }],
        };
        Assert.Equal(new Network(spec, new ManagedKernels()).ParameterCount, spec.ParameterCount());
    }

    [Fact]
    public void Limits_come_from_the_environment_and_a_malformed_one_names_its_variable()
    {
        var env = new Dictionary<string, string> { [ResourceLimits.MaxParametersVariable] = "100", [ResourceLimits.MaxUnitsVariable] = "8" };
        var limits = ResourceLimits.FromEnvironment(n => env.GetValueOrDefault(n));
        Assert.Equal(100, limits.MaxParameters);
        Assert.Equal(8, limits.MaxUnitsPerLayer);
        Assert.Equal(new ResourceLimits().MaxDataBytes, limits.MaxDataBytes);
        var spec = WithUnits(16).ModelFor(1);
        Assert.Contains("units 16 is above the limit of 8", Assert.Throws<ModelException>(() => spec.Validate(limits)).Message);
        var small = WithUnits(4).ModelFor(1); // 4*4*(1+4) + 16 + 4 + 1 = 101 parameters
        Assert.Contains("101 parameters, above the limit of 100", Assert.Throws<ModelException>(() => small.Validate(limits)).Message);

        env[ResourceLimits.MaxDataBytesVariable] = "lots";
        var bad = Assert.Throws<ModelException>(() => ResourceLimits.FromEnvironment(n => env.GetValueOrDefault(n)));
        Assert.Equal($"{ResourceLimits.MaxDataBytesVariable} must be a positive whole number, got 'lots'", bad.Message);
    }

    [Fact]
    public void Data_above_the_byte_limit_is_refused()
    {
        var e = Assert.Throws<JobException>(() => new ResourceLimits { MaxDataBytes = 1000 }.CheckDataBytes(1001, "the data"));
        Assert.Equal($"the data is 1,001 bytes, above the limit of 1,000 bytes of data per job ({ResourceLimits.MaxDataBytesVariable})", e.Message);
    }

    [Fact]
    public void The_coordinator_refuses_an_oversized_job_and_keeps_serving()
    {
        var coordinator = Sys.ActorOf(CoordinatorActor.Props());
        var data = IndexedData(8, 3, 2, 1, []);
        coordinator.Tell(new StartJob(WithUnits(1_000_000_000).ToJson(), data.X, data.Y, data.InitialStates, null), TestActor);
        var rejected = ExpectMsg<JobRejected>(Wait);
        Assert.Contains("units 1000000000 is above the limit of 65536", rejected.Reason);

        coordinator.Tell(GetClusterStatus.Instance, TestActor);
        ExpectMsg<ClusterStatus>(Wait);
        coordinator.Tell(new StartJob(SmallJob().ToJson(), data.X, data.Y, data.InitialStates, null), TestActor);
        ExpectMsg<JobStarted>(Wait);
    }

    [Fact]
    public async Task Train_with_a_billion_units_exits_1_with_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("rnncluster-limits-");
        try
        {
            var path = Path.Combine(dir.FullName, "huge.json");
            File.WriteAllText(path, """
                { "name": "huge", "model": { "layers": [ { "kind": "lstm", "units": 1000000000 }, { "kind": "dense", "units": 1 } ] },
                  "data": { "source": "builtin", "builtin": "phase_level", "rows": 64, "timesteps": 5 }, "states": { "policy": "from_data" } }
                """);
            var run = await ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(60), "rnncluster", "train", path, "--math", "managed");
            Assert.Equal(1, run.ExitCode);
            var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal($"rnncluster: error: {path}: layer 0 (lstm): units 1000000000 is above the limit of 65536 units per layer ({ResourceLimits.MaxUnitsVariable})", Assert.Single(lines));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
