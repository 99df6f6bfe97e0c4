using System.CommandLine;
using RnnCluster.CommandLine;

namespace RnnCluster.Bench.Commands;

/// <summary><c>rnncluster-bench profile</c>: where a training step's time goes (GEMMs, cell loops, optimizer).</summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var shape = new StepShape("lstm", 64, 100, 32, 128);
        var iters = CliOptions.Int("--iters", "N", "timed steps", defaultValue: 10, min: 1);
        var command = new Command("profile", "show where a training step's time goes (GEMMs, cell loops, optimizer)");
        shape.AddTo(command);
        command.Add(iters);
        command.SetAction(r =>
        {
            var kernels = shape.StartMath(r, r.GetValue(shape.Threads));
            ProfileStep.Run(StepShape.Kind(r.GetValue(shape.Cell)!), r.GetValue(shape.Batch), r.GetValue(shape.Timesteps), r.GetValue(shape.Features),
                r.GetValue(shape.Hidden), kernels, r.GetValue(iters), r.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }
}
