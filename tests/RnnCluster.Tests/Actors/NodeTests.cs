using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Numerics;
using RnnCluster.Protocol;
using RnnCluster.Worker;
using Xunit;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Actors;

/// <summary>
/// The layout of a step over nodes (<see cref="BlockLayout"/>), a real <see cref="NodeActor"/>
/// (data once by content hash, one gradient for its compute actors added in shard order, its
/// children's results added after its own), and a job over a tree of fake nodes.
/// </summary>
public sealed class NodeTests() : TestKit(ConfigurationFactory.ParseString("rnncluster.tree.fan-out = 2").WithFallback(AkkaConfig.ForTests()), nameof(NodeTests))
{
    // ---------------------------------------------------------------------------------------
    // layout
    // ---------------------------------------------------------------------------------------

    [Fact]
    public void A_hub_gives_node_j_the_shards_jK_to_jK_plus_K()
    {
        var layout = BlockLayout.Lay(10, [2, 2, 2], fanOut: 8);
        Assert.All(layout, b => Assert.Equal(-1, b.Parent));
        Assert.Equal([new RowRange(0, 4), new RowRange(4, 4), new RowRange(8, 2)], layout.Select(b => b.Own));
        Assert.Equal([[2, 2], [2, 2], [1, 1]], layout.Select(b => b.ShardSizes));
        Assert.Equal(layout.Select(b => b.Own), layout.Select(b => b.Subtree));
    }

    [Fact]
    public void A_tree_lays_rows_out_in_preorder_so_every_subtree_is_contiguous()
    {
        // Fan-out 2, five nodes: 0 and 1 under the coordinator, 2 and 3 under 0, 4 under 1.
        var layout = BlockLayout.Lay(5, [1, 1, 1, 1, 1], fanOut: 2);
        Assert.Equal([-1, -1, 0, 0, 1], layout.Select(b => b.Parent));
        Assert.Equal([[2, 3], [4], [], [], []], layout.Select(b => b.Children));
        // Preorder 0, 2, 3, 1, 4.
        Assert.Equal([0, 3, 1, 2, 4], layout.Select(b => b.Own.Start));
        Assert.Equal([new RowRange(0, 3), new RowRange(3, 2), new RowRange(1, 1), new RowRange(2, 1), new RowRange(4, 1)], layout.Select(b => b.Subtree));
    }

    [Fact]
    public void A_batch_smaller_than_the_workers_leaves_later_nodes_without_rows_but_in_the_tree()
    {
        var layout = BlockLayout.Lay(2, [2, 2], fanOut: 1);
        Assert.Equal([-1, 0], layout.Select(b => b.Parent));
        Assert.Equal([[1, 1], []], layout.Select(b => b.ShardSizes));
        Assert.Equal(new RowRange(2, 0), layout[1].Own);
        Assert.Equal(new RowRange(0, 2), layout[0].Subtree);
    }

    // ---------------------------------------------------------------------------------------
    // a real node
    // ---------------------------------------------------------------------------------------

    private static (JobSpec Job, Dataset Data, Network Network, float[] Weights) Setup()
    {
        var job = SmallJob();
        var data = IndexedData(12, 3, 2, 1, []);
        var network = new Network(job.ModelFor(2), new ManagedKernels());
        return (job, data, network, Initializers.InitialParameters(network, job.Seed));
    }

    private LoadReplica Load(string jobId, JobSpec job, Dataset data) =>
        new(jobId, job.ModelFor(2).ToJson(), job.Loss, job.FromLogits, DatasetHash.Of(data));

    /// <summary>The sums and final states <see cref="ShardMath"/> gives for <paramref name="rows"/> alone.</summary>
    private static (float[] Gradient, double Loss, Tensor[] Finals) Direct(JobSpec job, Dataset data, float[] weights, int[] rows)
    {
        var network = new Network(job.ModelFor(2), new ManagedKernels());
        var computer = new GradientComputer(network, job.CreateLoss());
        var sums = ShardMath.Compute(computer, weights, Gather(data.X, rows), Gather(data.Y, rows), [],
            new ShardOutputs(network.ParameterCount, network.StateSlots), "direct");
        return ((float[])sums.GradientSum.Clone(), sums.LossSum, [.. sums.FinalStates.Select(t => t.Clone())]);
    }

    [Fact]
    public void A_node_asks_for_the_data_once_and_adds_its_workers_sums_in_shard_order()
    {
        var (job, data, network, weights) = Setup();
        var node = Sys.ActorOf(NodeActor.Props(new ManagedKernels(), 3, null), "node-sum");
        node.Tell(Load("j1", job, data), TestActor);
        var need = ExpectMsg<NeedJobData>(Wait);
        Assert.Equal(DatasetHash.Of(data), need.DataHash);
        node.Tell(new JobData("j1", need.DataHash, data.X, data.Y, data.InitialStates), TestActor);
        node.Tell(new ReplicaWeights("j1", 0, new Tensor((float[])weights.Clone(), weights.Length)), TestActor);
        int[] rows = [7, 2, 9, 0, 11, 5];
        node.Tell(new ComputeBlock("j1", 0, 40, 0, 0, rows, [], [3, 2, 1], TestActor, []), TestActor);

        var result = ExpectMsg<ShardResult>(Wait);
        Assert.Equal((40L, 6), (result.ShardId, result.Rows));
        // Three parts, so the order of the additions shows in the bits: ((s0 + s1) + s2).
        var parts = new[] { rows[..3], rows[3..5], rows[5..] }.Select(r => Direct(job, data, weights, r)).ToArray();
        var expected = (float[])parts[0].Gradient.Clone();
        foreach (var p in parts.Skip(1))
            for (int i = 0; i < expected.Length; i++) expected[i] += p.Gradient[i];
        AssertBitIdentical(expected, result.GradientSum.Data, "the node's gradient sum");
        Assert.Equal(parts[0].Loss + parts[1].Loss + parts[2].Loss, result.LossSum);
        // Final states: the block's rows in order.
        var finals = Assert.Single(result.FinalStates);
        AssertBitIdentical([.. parts.SelectMany(p => p.Finals[0].Data)], finals.Data, "final states in row order");

        // A second job over the same data: the node holds it already.
        node.Tell(Load("j2", job, data), TestActor);
        node.Tell(new ReplicaWeights("j2", 3, new Tensor((float[])weights.Clone(), weights.Length)), TestActor);
        node.Tell(new ComputeBlock("j2", 5, 41, 0, 3, [1, 2], [], [1, 1], TestActor, []), TestActor);
        Assert.Equal(41, ExpectMsg<ShardResult>(Wait).ShardId);
        ExpectNoMsg(Quiet);
    }

    [Fact]
    public void Dropping_the_last_replica_that_uses_a_data_set_evicts_it_from_the_nodes_cache()
    {
        var (job, data, _, _) = Setup();
        var node = Sys.ActorOf(NodeActor.Props(new ManagedKernels(), 1, null), "node-evict");
        node.Tell(Load("a", job, data), TestActor);
        var need = ExpectMsg<NeedJobData>(Wait);
        node.Tell(new JobData("a", need.DataHash, data.X, data.Y, data.InitialStates), TestActor);
        // A second replica on the same data: dropping the first keeps the data for it.
        node.Tell(Load("b", job, data), TestActor);
        node.Tell(new DropReplica("a"), TestActor);
        node.Tell(Load("c", job, data), TestActor);
        ExpectNoMsg(Quiet);
        // The last replicas on that data go: the next job on it asks for the data again.
        node.Tell(new DropReplica("b"), TestActor);
        node.Tell(new DropReplica("c"), TestActor);
        node.Tell(Load("d", job, data), TestActor);
        Assert.Equal(need.DataHash, ExpectMsg<NeedJobData>(Wait).DataHash);
    }

    [Fact]
    public void A_block_waits_for_its_weights_and_adds_its_childrens_results_after_its_own_even_when_they_come_first()
    {
        var (job, data, network, weights) = Setup();
        var node = Sys.ActorOf(NodeActor.Props(new ManagedKernels(), 1, null), "node-tree");
        node.Tell(Load("j", job, data), TestActor);
        node.Tell(new JobData("j", ExpectMsg<NeedJobData>(Wait).DataHash, data.X, data.Y, data.InitialStates), TestActor);
        var child = new float[network.ParameterCount];
        for (int i = 0; i < child.Length; i++) child[i] = 0.001f * (i + 1);
        // The child's result first, then the block (version 1), then the weights it needs.
        node.Tell(new ShardResult("j", 2, 77, 4, 0.5, new Tensor(child, child.Length), []), TestActor);
        node.Tell(new ComputeBlock("j", 2, 76, 0, 1, [3, 4], [], [2], TestActor, [77]), TestActor);
        ExpectNoMsg(Quiet);
        node.Tell(new ReplicaWeights("j", 1, new Tensor((float[])weights.Clone(), weights.Length)), TestActor);

        var result = ExpectMsg<ShardResult>(Wait);
        Assert.Equal((76L, 6), (result.ShardId, result.Rows));
        var (own, loss, _) = Direct(job, data, weights, [3, 4]);
        for (int i = 0; i < own.Length; i++) own[i] += child[i];
        AssertBitIdentical(own, result.GradientSum.Data, "own sum, then the child's");
        Assert.Equal(loss + 0.5, result.LossSum);
    }

    [Fact]
    public void A_node_passes_weights_on_to_its_children_in_the_tree()
    {
        var (job, data, _, weights) = Setup();
        var node = Sys.ActorOf(NodeActor.Props(new ManagedKernels(), 1, null), "node-forward");
        var (left, right, other) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        node.Tell(Load("j", job, data), TestActor);
        ExpectMsg<NeedJobData>(Wait);
        // Nodes: [other, node, left, right]; parents: node under the coordinator, left and right under node, other under left.
        var message = new ReplicaWeights("j", 4, new Tensor(weights, weights.Length), [other.Ref, node, left.Ref, right.Ref], [2, -1, 1, 1]);
        node.Tell(message, TestActor);
        Assert.Equal(4, left.ExpectMsg<ReplicaWeights>(Wait).Version);
        Assert.Equal(4, right.ExpectMsg<ReplicaWeights>(Wait).Version);
        other.ExpectNoMsg(Quiet);
    }

    // ---------------------------------------------------------------------------------------
    // a job over a tree of fake nodes
    // ---------------------------------------------------------------------------------------

    [Fact]
    public void With_fan_out_2_the_job_talks_to_two_nodes_and_the_third_answers_through_its_parent()
    {
        var job = SmallJob() with { Epochs = 1 };
        var data = IndexedData(8, 3, 2, 1, []);
        int p = new Network(job.ModelFor(2), new ManagedKernels()).ParameterCount;
        var nodes = Enumerable.Range(1, 3).Select(i => new FakeWorker(CreateTestProbe($"n{i}"), $"n{i}")).ToArray();
        var subscriber = CreateTestProbe();
        var actor = Sys.ActorOf(JobActor.Props("t", job, data, [.. nodes.Select(n => new WorkerNodeRef(n.Ref, 1))], subscriber.Ref), "job-t");
        foreach (var n in nodes) n.ExpectReplica("t");

        // Rows in preorder (shards of 3, 3, 2 rows): node 0 [0, 3), its child node 2 [3, 6), node 1 [6, 8).
        var blocks = nodes.Select(n => n.ExpectShard(0)).ToArray();
        Assert.Equal([0, 6, 3], blocks.Select(b => b.RowStart));
        Assert.Equal([3, 2, 3], blocks.Select(b => b.X.Shape[0]));
        Assert.Equal([actor, actor, nodes[0].Ref], blocks.Select(b => b.Block.ReplyTo));
        Assert.Equal([blocks[2].ShardId], blocks[0].Block.ChildShards);
        Assert.Empty(blocks[1].Block.ChildShards);

        // Node 0 answers for its subtree (6 rows), node 1 for its own.
        nodes[0].Reply(actor, blocks[0], Enumerable.Repeat(2f, p).ToArray(), rows: 6);
        nodes[1].Reply(actor, blocks[1], Enumerable.Repeat(6f, p).ToArray());
        subscriber.ExpectMsg<StepCompleted>(Wait);

        // The next weights go to the job's two children only, with the tree for node 0 to pass them on.
        var w0 = nodes[0].ExpectWeights(1);
        nodes[1].ExpectWeights(1);
        // Node 2 gets no weights from the job; the job's one step was its last, so it ends and releases every node's replica.
        nodes[2].ExpectDropReplica("t");
        Assert.Equal([-1, -1, 0], w0.Parents);
        Assert.Equal(nodes.Select(n => n.Ref), w0.Tree);
        // SGD with learning rate 1: w1 = w0 - (2 + 6) / 8 per weight.
        var initial = Initializers.InitialParameters(new Network(job.ModelFor(2), new ManagedKernels()), job.Seed);
        for (int i = 0; i < p; i++) Assert.Equal(initial[i] - 1f, w0.Parameters.Data[i]);
    }
}
