using System.CommandLine;
using RnnCluster.Interop;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster summary DIR|FILE</c>: Keras's model.summary() for a model folder, an .h5, a .keras or an .onnx file.</summary>
public static class SummaryCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("MODEL") { Description = "a folder written by 'rnncluster train --out', a .keras archive, a Keras .h5 / .weights.h5 file or an .onnx file" };
        var command = new Command("summary", "print a model's layers, output shapes, parameter counts and state slots (as Keras's model.summary())");
        command.Add(source);
        command.SetAction(result =>
        {
            result.InvocationConfiguration.Output.Write(ModelSummary.Format(ModelFiles.Describe(result.GetValue(source)!)));
            return 0;
        });
        return command;
    }
}
