using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using Xunit;

namespace RnnCluster.Tests.Cluster;

/// <summary>The transfer tests over the data plane (the default carrier), plus what only a socket can get wrong.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DataPlaneTests() : TransferTests("socket")
{
    [Fact]
    public async Task A_frame_cut_short_is_never_delivered_and_the_node_keeps_receiving()
    {
        var received = new List<(object Message, IActorRef Sender)>();
        var one = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _b.ActorOf(Props.Create(() => new Collector(received, 1, one)), "cut");
        var target = await RefFromA(_b, "cut");

        // A peer that says hello, announces 10 MB for the target and dies after 1 MB.
        using (var socket = await Connect(_b, DataPlane.Version))
        {
            var header = new MemoryStream();
            header.Write(new byte[4]);
            using (var w = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Akka.Serialization.Serialization.SerializedActorPath(target));
                w.Write("");
                w.Write("ReplicaWeights");
                w.Write(10_000_000L);
            }
            var bytes = header.ToArray();
            BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
            await socket.SendAsync(bytes);
            await socket.SendAsync(new byte[1_000_000]);
        }

        // A real message afterwards arrives, and it is the only one.
        Transfer.For(_a).Tell(target, new ReplicaWeights("job", 9, Ramp(300_000)), ActorRefs.NoSender);
        Assert.Same(one.Task, await Task.WhenAny(one.Task, Task.Delay(Wait)));
        await Task.Delay(100);
        lock (received)
        {
            Assert.Single(received);
            Assert.Equal(9, Assert.IsType<ReplicaWeights>(received[0].Message).Version);
        }
    }

    [Fact]
    public async Task A_peer_with_another_wire_version_is_refused_with_both_versions_named()
    {
        using var socket = await Connect(_b, DataPlane.Version + 1);
        // The node answers with its own version and closes the connection.
        var answer = new byte[4];
        using var cancel = new CancellationTokenSource(Wait);
        int got = await socket.ReceiveAsync(answer, cancel.Token);
        Assert.Equal(4, got);
        Assert.Equal(DataPlane.Version, BinaryPrimitives.ReadInt32LittleEndian(answer));
        Assert.Equal(0, await socket.ReceiveAsync(new byte[1], cancel.Token));
    }

    [Fact]
    public async Task Sends_to_a_node_that_died_are_dropped_and_other_nodes_still_get_theirs()
    {
        var c = Create("transfer-dead");
        var received = new List<(object Message, IActorRef Sender)>();
        var one = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        c.ActorOf(Props.Create(() => new Collector(new List<(object, IActorRef)>(), int.MaxValue, new TaskCompletionSource())), "doomed");
        _b.ActorOf(Props.Create(() => new Collector(received, 1, one)), "alive");
        var doomed = await RefFromA(c, "doomed");
        var alive = await RefFromA(_b, "alive");
        var events = new List<TransferEvent>();
        TransferRecorder.Start(_a, events);
        var failures = new List<TransferFailed>();
        var failureRecorder = _a.ActorOf(Props.Create(() => new FailureRecorder(failures)));
        _a.EventStream.Subscribe(failureRecorder, typeof(TransferFailed));

        // The first message connects; then the node dies with a stream of large messages on their way to it.
        Transfer.For(_a).Tell(doomed, new ReplicaWeights("job", 0, Ramp(1000)), ActorRefs.NoSender);
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline)
        {
            lock (events)
                if (events.Any(e => e.Outgoing)) break;
            await Task.Delay(10);
        }
        var big = Ramp(4_000_000);
        for (int i = 1; i <= 20; i++) Transfer.For(_a).Tell(doomed, new ReplicaWeights("job", i, big), ActorRefs.NoSender);
        await c.Terminate();
        for (int i = 21; i <= 25; i++) Transfer.For(_a).Tell(doomed, new ReplicaWeights("job", i, big), ActorRefs.NoSender);

        Transfer.For(_a).Tell(alive, new ReplicaWeights("job", 99, Ramp(500_000)), ActorRefs.NoSender);
        Assert.Same(one.Task, await Task.WhenAny(one.Task, Task.Delay(Wait)));
        lock (received) Assert.Equal(99, Assert.IsType<ReplicaWeights>(received[0].Message).Version);
        // The sender noticed, and said so (the later sends find no one listening).
        deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline)
        {
            lock (failures)
                if (failures.Any(f => f.Peer.Equals(Address(c)))) return;
            await Task.Delay(10);
        }
        Assert.Fail("no TransferFailed for the dead node");
    }

    /// <summary>A raw connection to <paramref name="node"/>'s data plane that has sent a hello with <paramref name="version"/>.</summary>
    private static async Task<Socket> Connect(ActorSystem node, int version)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", Transfer.For(node).DataPort!.Value);
        var name = Encoding.UTF8.GetBytes("akka.tcp://fake@127.0.0.1:1");
        var hello = new byte[12 + name.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(hello, DataPlane.Magic);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(4), version);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(8), name.Length);
        name.CopyTo(hello, 12);
        await socket.SendAsync(hello);
        if (version == DataPlane.Version)
        {
            var answer = new byte[4];
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await socket.ReceiveAsync(answer, cancel.Token);
        }
        return socket;
    }
}

internal sealed class FailureRecorder : ReceiveActor
{
    public FailureRecorder(List<TransferFailed> failures) =>
        Receive<TransferFailed>(f =>
        {
            lock (failures) failures.Add(f);
        });
}

/// <summary>The transfer tests over the earlier carrier: chunks through Akka's connection.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AkkaChunkTransferTests() : TransferTests("akka");
