using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;

namespace RnnCluster.Hosting;

/// <summary>The life of a node program after start-up, shared by the coordinator and worker programs.</summary>
public static class NodeProgram
{
    /// <summary>
    /// Waits until Ctrl-C or SIGTERM (then leaves the cluster through coordinated shutdown and
    /// returns 0) or until the system stops by itself (downed by the split-brain resolver or
    /// removed: returns 1, so a supervisor restarts the node to join again).
    /// </summary>
    public static async Task<int> RunUntilStoppedAsync(ActorSystem system)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var first = await Task.WhenAny(stop.Task, system.WhenTerminated);
        if (first != stop.Task)
        {
            Console.Error.WriteLine($"{system.Name}: the node stopped by itself (downed or removed from the cluster)");
            return 1;
        }
        system.Log.Info("stopping: leaving the cluster");
        var shutdown = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
        await Task.WhenAny(shutdown, Task.Delay(TimeSpan.FromSeconds(30)));
        if (!system.WhenTerminated.IsCompleted) await system.Terminate();
        return 0;
    }

    /// <summary>Parses <c>--log-level</c> (trace, debug, info, warning, error).</summary>
    public static Microsoft.Extensions.Logging.LogLevel ParseLogLevel(string? text) => (text ?? "info").Trim().ToLowerInvariant() switch
    {
        "trace" => Microsoft.Extensions.Logging.LogLevel.Trace,
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "info" or "information" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warning" or "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => throw new NodeOptionsException($"--log-level expects trace, debug, info, warning or error, got '{text}'"),
    };
}
