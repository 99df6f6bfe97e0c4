using Akka.Actor;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Actors;

// The end of a job's life: it leaves a summary with its coordinator, has every worker drop its
// replica and stops, so its data set and buffers go with it.
public sealed partial class JobActor
{
    /// <summary>Called once the job has ended (finished, failed, stopped) and its subscribers were told.</summary>
    private void Release()
    {
        var drop = new DropReplica(_jobId);
        foreach (var w in _workers) _transfer.Tell(w.Node, drop, Self);
        var summary = new JobSummary(
            Status(),
            [.. _history.Select(h => new EpochCompleted(_jobId, h.Epoch, _job.Epochs, h.Loss, h.ValidationLoss, h.Metrics))],
            (float[])_parameters.Clone(),
            [.. _network.Weights.Select(w => new WeightLayout(w.Name, (int[])w.Shape.Clone(), w.Offset, w.Length))],
            _network.Spec.ToJson(),
            _job.Loss,
            _job.FromLogits,
            _job.IsStateful,
            _dataHash);
        Context.Parent.Tell(new JobEnded(summary));
        // From now on the coordinator answers from the summary and stops this actor with a
        // PoisonPill, which comes after every request it routed here before it heard of the end.
        // Those, and the ones that waited for a step boundary, are answered here from the same
        // summary; the ones that change it (SetWeights) or need workers (predict) go back to the
        // coordinator, the summary's one owner, where they arrive after JobEnded.
        Become(() =>
        {
            Receive<SubscribeToJob>(m =>
            {
                foreach (var e in EndedJobs.Replay(summary)) _transfer.Tell(m.Subscriber, e, Self);
                Sender.Tell(new Subscribed(_jobId));
            });
            Receive<SetWeights>(m => Context.Parent.Forward(m));
            Receive<PredictRequest>(m => Context.Parent.Forward(m));
            Receive<IProtocolMessage>(m =>
            {
                if (EndedJobs.Answer(summary, m, _workers.Count) is { } reply) _transfer.Tell(Sender, reply, Self);
            });
            // Late shard results and evaluation answers, workers changing, a subscriber that stopped
            // (an unhandled Terminated would throw DeathPactException and restart the job from step 0).
            ReceiveAny(_ => { });
        });
        Stash.UnstashAll();
    }
}
