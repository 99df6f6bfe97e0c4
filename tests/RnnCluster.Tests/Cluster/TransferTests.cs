using Akka.Actor;
using Akka.Configuration;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Protocol;
using RnnCluster.Transport;
using Xunit;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// <see cref="Transfer"/> between two systems with remoting on loopback and the cluster's modest
/// frame size, over each carrier (the data plane's sockets, and chunks over Akka): large messages
/// arrive whole, in order with small ones, with their sender; local targets get a plain Tell.
/// </summary>
public abstract class TransferTests(string carrier) : IAsyncLifetime
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    protected ActorSystem _a = null!;
    protected ActorSystem _b = null!;

    protected ActorSystem Create(string name)
    {
        // Remoting only (the client configuration): the transfer does not need cluster membership.
        var options = new NodeOptions { Host = "127.0.0.1", Port = 0 };
        var config = ConfigurationFactory.ParseString($"rnncluster.transfer.carrier = {carrier}").WithFallback(AkkaCluster.Client(options, "ERROR"));
        var system = AkkaCluster.Create(name, config);
        Transfer.For(system);
        return system;
    }

    public Task InitializeAsync()
    {
        _a = Create("transfer-a");
        _b = Create("transfer-b");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Task.WhenAll(_a.Terminate(), _b.Terminate());

    [Fact]
    public async Task Large_and_small_messages_arrive_whole_in_order_with_their_sender()
    {
        var received = new List<(object Message, IActorRef Sender)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var target = _b.ActorOf(Props.Create(() => new Collector(received, 4, all)), "target");
        var remoteTarget = await RefFromA(_b, "target");
        var sender = _a.ActorOf(Props.Create(() => new Collector(new List<(object, IActorRef)>(), int.MaxValue, new TaskCompletionSource())), "sender");
        var events = new List<TransferEvent>();
        TransferRecorder.Start(_a, events);

        var big = Ramp(3_000_000);   // 12 MB: far over the 256000-byte frame
        var medium = Ramp(100_000);  // 400 kB
        var transfer = Transfer.For(_a);
        transfer.Tell(remoteTarget, new ReplicaWeights("job", 1, big), sender);
        transfer.Tell(remoteTarget, new DropReplica("small-after-large"), sender);
        transfer.Tell(remoteTarget, new ReplicaWeights("job", 2, medium), sender);
        transfer.Tell(remoteTarget, new JobStarted("last"), ActorRefs.NoSender);

        Assert.Same(all.Task, await Task.WhenAny(all.Task, Task.Delay(Wait)));
        lock (received)
        {
            var first = Assert.IsType<ReplicaWeights>(received[0].Message);
            Assert.Equal(1, first.Version);
            Assert.Equal(big.Data, first.Parameters.Data);
            Assert.Equal("small-after-large", Assert.IsType<DropReplica>(received[1].Message).JobId);
            var third = Assert.IsType<ReplicaWeights>(received[2].Message);
            Assert.Equal(medium.Data, third.Parameters.Data);
            Assert.Equal("last", Assert.IsType<JobStarted>(received[3].Message).JobId);
            // The original sender, resolved on the receiving node.
            Assert.Equal(sender.Path.ToStringWithoutAddress(), received[0].Sender.Path.ToStringWithoutAddress());
            Assert.Equal(Address(_a), received[0].Sender.Path.Address);
            Assert.True(received[3].Sender.IsNobody());
        }
        // The sender publishes its event once the last byte is out (or acknowledged): poll.
        var chunked = await Eventually(events, 2, e => e.Outgoing && e.Chunks > 0);
        Assert.True(chunked[0].Bytes >= 12_000_000);
        Assert.True(chunked[1].Bytes >= 400_000);
    }

    [Fact]
    public async Task A_message_to_several_destinations_is_serialized_once_and_arrives_intact_at_each()
    {
        var c = Create("transfer-c");
        try
        {
            var received = new List<(object Message, IActorRef Sender)>();
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var collector = Props.Create(() => new Collector(received, 4, all));
            _b.ActorOf(collector, "first");
            _b.ActorOf(collector, "second");
            c.ActorOf(collector, "third");
            var local = _a.ActorOf(collector, "local");
            var targets = new[]
            {
                await RefFromA(_b, "first"),
                await RefFromA(_b, "second"),
                await RefFromA(c, "third"),
                local,
            };
            var events = new List<TransferEvent>();
            TransferRecorder.Start(_a, events);
            var weights = Ramp(2_000_000); // 8 MB
            var expected = (float[])weights.Data.Clone();
            var message = new ReplicaWeights("job", 5, weights);

            Transfer.For(_a).Tell(targets, message, ActorRefs.NoSender);
            // Serialized when told: a later write to the sender's buffer does not reach the remote copies.
            Array.Fill(weights.Data, 0f);

            Assert.Same(all.Task, await Task.WhenAny(all.Task, Task.Delay(Wait)));
            lock (received)
            {
                var remote = received.Select(r => r.Message).Where(m => !ReferenceEquals(m, message)).Cast<ReplicaWeights>().ToList();
                Assert.Equal(3, remote.Count);
                Assert.All(remote, r => Assert.Equal(expected, r.Parameters.Data));
                Assert.Equal(3, remote.Select(r => r.Parameters.Data).Distinct().Count());
                Assert.Contains(received, r => ReferenceEquals(r.Message, message));
            }
            await Eventually(events, 3, e => e.Outgoing && e.Chunks > 0);
        }
        finally
        {
            await c.Terminate();
        }
    }

    [Fact]
    public async Task Reused_buffers_do_not_change_messages_a_receiver_still_holds()
    {
        var received = new List<(object Message, IActorRef Sender)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _b.ActorOf(Props.Create(() => new Collector(received, 4, all)), "holder");
        var remoteTarget = await RefFromA(_b, "holder");
        // Decreasing sizes, so each later message fits in (and reuses) the buffers of the earlier ones on both nodes.
        var sent = new[] { 1_500_000, 1_200_000, 1_200_000, 600_000 }
            .Select((n, i) => new Tensor(Enumerable.Range(0, n).Select(k => k * 0.25f + i * 1000f).ToArray(), n))
            .ToList();
        var expected = sent.Select(t => (float[])t.Data.Clone()).ToList();

        for (int i = 0; i < sent.Count; i++)
            Transfer.For(_a).Tell(remoteTarget, new ReplicaWeights("job", i, sent[i]), ActorRefs.NoSender);

        Assert.Same(all.Task, await Task.WhenAny(all.Task, Task.Delay(Wait)));
        lock (received)
        {
            for (int i = 0; i < sent.Count; i++)
            {
                var r = Assert.IsType<ReplicaWeights>(received[i].Message);
                Assert.Equal(i, r.Version);
                Assert.Equal(expected[i], r.Parameters.Data);
            }
        }
        // Both sides kept a buffer for the next large message (returned just after delivery and the last acknowledgement: poll).
        var deadline = DateTime.UtcNow + Wait;
        while ((Transfer.For(_a).Buffers.Retained < 1 || Transfer.For(_b).Buffers.Retained < 1) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.True(Transfer.For(_a).Buffers.Retained >= 1);
        Assert.True(Transfer.For(_b).Buffers.Retained >= 1);
    }

    [Fact]
    public async Task A_recycled_received_tensor_array_takes_the_next_tensor_and_a_held_one_is_untouched()
    {
        var received = new List<(object Message, IActorRef Sender)>();
        var three = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _b.ActorOf(Props.Create(() => new Collector(received, 3, three)), "recycler");
        var remoteTarget = await RefFromA(_b, "recycler");
        const int n = 500_000;
        Tensor Filled(float value) => new(Enumerable.Repeat(value, n).ToArray(), n);
        async Task<ReplicaWeights> SendAndReceive(int index, float value)
        {
            Transfer.For(_a).Tell(remoteTarget, new ReplicaWeights("job", index, Filled(value)), ActorRefs.NoSender);
            var deadline = DateTime.UtcNow + Wait;
            while (DateTime.UtcNow < deadline)
            {
                lock (received)
                    if (received.Count > index) return Assert.IsType<ReplicaWeights>(received[index].Message);
                await Task.Delay(10);
            }
            throw new TimeoutException($"message {index} did not arrive");
        }

        var held = await SendAndReceive(0, 1f);
        var recycled = await SendAndReceive(1, 2f);
        Transfer.For(_b).Recycle(recycled.Parameters);
        var third = await SendAndReceive(2, 3f);

        Assert.Same(recycled.Parameters.Data, third.Parameters.Data);
        Assert.All(third.Parameters.Data, x => Assert.Equal(3f, x));
        Assert.All(held.Parameters.Data, x => Assert.Equal(1f, x));
        Assert.NotSame(held.Parameters.Data, third.Parameters.Data);
    }

    [Fact]
    public async Task Ask_through_the_transfer_gets_a_large_reply()
    {
        var echo = _b.ActorOf(Props.Create(() => new Echo()), "echo");
        var remoteEcho = await RefFromA(_b, "echo");
        var x = new Tensor(Ramp(1_000_000).Data, 1000, 10, 100);

        var reply = await Transfer.For(_a).Ask<PredictResult>(remoteEcho,
            replyTo => new PredictOnReplica("job", 3, x, [], replyTo), Wait, CancellationToken.None);

        Assert.Equal(x.Shape, reply.Output.Shape);
        Assert.Equal(x.Data, reply.Output.Data);
        GC.KeepAlive(echo);
    }

    [Fact]
    public async Task A_local_target_gets_the_message_itself()
    {
        var received = new List<(object Message, IActorRef Sender)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var local = _a.ActorOf(Props.Create(() => new Collector(received, 1, done)));
        var message = new ReplicaWeights("job", 1, Ramp(1_000_000));

        Transfer.For(_a).Tell(local, message, ActorRefs.NoSender);

        Assert.Same(done.Task, await Task.WhenAny(done.Task, Task.Delay(Wait)));
        lock (received) Assert.Same(message, received[0].Message);
    }

    [Fact]
    public void A_chunk_must_fit_in_the_frame()
    {
        var config = ConfigurationFactory.ParseString("""
            rnncluster.transfer.chunk-size = 250000b
            akka.remote.dot-netty.tcp.maximum-frame-size = 256000b
            """);
        var e = Assert.Throws<ConfigurationException>(() => TransferSettings.From(config));
        Assert.Contains("maximum-frame-size", e.Message);
    }

    /// <summary>Waits (with a deadline) until <paramref name="count"/> recorded events match, asserts that exactly that many do, and returns them.</summary>
    private static async Task<List<TransferEvent>> Eventually(List<TransferEvent> events, int count, Func<TransferEvent, bool> match)
    {
        var deadline = DateTime.UtcNow + Wait;
        List<TransferEvent> matching;
        while (true)
        {
            lock (events) matching = [.. events.Where(match)];
            if (matching.Count >= count || DateTime.UtcNow > deadline) break;
            await Task.Delay(10);
        }
        Assert.Equal(count, matching.Count);
        return matching;
    }

    protected static Address Address(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress;

    /// <summary>A remote reference, as seen from system a, to the top-level actor <paramref name="name"/> of <paramref name="node"/>.</summary>
    protected Task<IActorRef> RefFromA(ActorSystem node, string name) =>
        _a.ActorSelection(new RootActorPath(Address(node)) / "user" / name).ResolveOne(Wait);

    protected static Tensor Ramp(int n)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = i * 0.5f - 7f;
        return new Tensor(data, n);
    }

    protected sealed class Collector : ReceiveActor
    {
        public Collector(List<(object, IActorRef)> received, int expected, TaskCompletionSource done) =>
            ReceiveAny(m =>
            {
                lock (received)
                {
                    received.Add((m, Sender));
                    if (received.Count == expected) done.TrySetResult();
                }
            });
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() =>
            Receive<PredictOnReplica>(p => Transfer.For(Context.System).Tell(p.ReplyTo, new PredictResult(p.JobId, p.X, []), Self));
    }
}
