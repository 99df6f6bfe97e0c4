using Akka.Actor;
using RnnCluster.Transport;

namespace RnnCluster.Tests.Cluster;

/// <summary>Collects the <see cref="TransferEvent"/>s a node publishes.</summary>
internal static class TransferRecorder
{
    public static IActorRef Start(ActorSystem system, List<TransferEvent> events)
    {
        var recorder = system.ActorOf(Props.Create(() => new Recorder(events)));
        system.EventStream.Subscribe(recorder, typeof(TransferEvent));
        return recorder;
    }

    private sealed class Recorder : ReceiveActor
    {
        public Recorder(List<TransferEvent> events) =>
            Receive<TransferEvent>(e =>
            {
                lock (events) events.Add(e);
            });
    }
}
