using System.Diagnostics;
using RnnCluster.Jobs;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// Renders a job's progress events: a live bar (step, loss, samples/s, time left) on a terminal,
/// one line per epoch otherwise.
/// </summary>
public sealed class ConsoleProgress(TextWriter output, bool interactive, int epochs)
{
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private readonly Stopwatch _epochClock = Stopwatch.StartNew();
    private int _epochRows;

    public void OnEvent(IJobEvent e)
    {
        switch (e)
        {
            case StepCompleted s:
                _epochRows += s.Rows;
                if (!interactive) break;
                double seconds = Math.Max(1e-9, _epochClock.Elapsed.TotalSeconds);
                double stepsDone = s.Epoch * s.StepsPerEpoch + s.Step + 1;
                double stepsTotal = (double)epochs * s.StepsPerEpoch;
                var eta = TimeSpan.FromSeconds(_total.Elapsed.TotalSeconds / stepsDone * (stepsTotal - stepsDone));
                output.Write("\r" + ProgressBar.Format(s.Step + 1, s.StepsPerEpoch, $"epoch {s.Epoch + 1}/{epochs}", s.Loss, _epochRows / seconds, eta) + "   ");
                break;
            case EpochCompleted ep:
                double elapsed = _epochClock.Elapsed.TotalSeconds;
                var extra = string.Concat(ep.Metrics.Select(m => $"  {m.Name} {m.Value:0.0000}"));
                var val = ep.ValidationLoss is { } v ? $"  val_loss {v:0.000000}" : "";
                if (interactive) output.Write("\r");
                var left = TimeSpan.FromSeconds(_total.Elapsed.TotalSeconds / (ep.Epoch + 1) * (ep.Epochs - ep.Epoch - 1));
                output.WriteLine($"epoch {ep.Epoch + 1}/{ep.Epochs}  loss {ep.Loss:0.000000}{val}{extra}  {_epochRows / Math.Max(1e-9, elapsed):0} samples/s  {elapsed:0.0} s  ETA {left:m\\:ss}".PadRight(interactive ? 100 : 0));
                _epochRows = 0;
                _epochClock.Restart();
                break;
        }
    }
}
