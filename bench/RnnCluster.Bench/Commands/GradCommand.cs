using System.CommandLine;
using System.Runtime.InteropServices;
using RnnCluster.CommandLine;

namespace RnnCluster.Bench.Commands;

/// <summary>
/// <c>rnncluster-bench grad</c>: one gradient (fixed data and weights) written as raw float32, to
/// compare runs with different --threads (the row-split time loop against the one-thread loop).
/// </summary>
public static class GradCommand
{
    public static Command Create()
    {
        var shape = new StepShape("lstm", 64, 100, 32, 128);
        var outFile = CliOptions.Text("--out", "FILE", "where to write the gradient (raw float32)", "grad.bin");
        var command = new Command("grad", "write one gradient (fixed data and weights) as raw float32, to compare runs with different --threads");
        shape.AddTo(command);
        command.Add(outFile);
        command.SetAction(r =>
        {
            var kernels = shape.StartMath(r, r.GetValue(shape.Threads));
            var step = new TrainingStep(StepShape.Kind(r.GetValue(shape.Cell)!), r.GetValue(shape.Batch), r.GetValue(shape.Timesteps), r.GetValue(shape.Features), r.GetValue(shape.Hidden), kernels);
            var (loss, gradient) = step.Gradient();
            var path = r.GetValue(outFile)!;
            File.WriteAllBytes(path, MemoryMarshal.AsBytes(gradient.AsSpan()).ToArray());
            r.InvocationConfiguration.Output.WriteLine($"loss {loss:R}, {gradient.Length} gradient values written to {path}");
            return 0;
        });
        return command;
    }
}
