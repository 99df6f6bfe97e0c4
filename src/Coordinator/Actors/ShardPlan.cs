using Akka.Actor;

namespace RnnCluster.Coordinator.Actors;

/// <summary>Contiguous row ranges [Start, Start + Count) covering [0, rows) exactly once.</summary>
public readonly record struct RowRange(int Start, int Count);

/// <summary>A registered node: its node actor and how many compute actors it has.</summary>
public sealed record WorkerNodeRef(IActorRef Node, int Workers);

public static class ShardPlan
{
    /// <summary>
    /// Cuts <paramref name="rows"/> into at most <paramref name="workers"/> contiguous shards whose
    /// sizes differ by at most one (the first shards take the extra rows); never an empty shard.
    /// </summary>
    public static RowRange[] Cut(int rows, int workers)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "a batch needs at least one row");
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker is needed");
        int shards = Math.Min(rows, workers);
        int size = rows / shards, extra = rows % shards;
        var ranges = new RowRange[shards];
        int start = 0;
        for (int i = 0; i < shards; i++)
        {
            int count = size + (i < extra ? 1 : 0);
            ranges[i] = new RowRange(start, count);
            start += count;
        }
        return ranges;
    }
}

/// <summary>
/// Node <see cref="Node"/>'s part of a step: its own rows [Own.Start, Own.Start + Own.Count) of the
/// batch cut into shards of <see cref="ShardSizes"/> rows (one per compute actor), its parent in
/// the tree (-1: the coordinator), its children in order, and the rows of its whole subtree
/// (<see cref="Subtree"/>: its own, then each child's subtree).
/// </summary>
public sealed record NodeBlock(int Node, int Parent, RowRange Own, int[] ShardSizes, int[] Children, RowRange Subtree);

/// <summary>
/// The deterministic layout of a step over nodes (pure; the job actor only sends what it says).
/// <para>
/// Tree: node i's parent is the coordinator for i &lt; fan-out, else node (i - fan-out) / fan-out;
/// so the coordinator has at most fan-out children and so does every node (a fan-out of at
/// least the node count is a hub: every node a child of the coordinator).
/// </para>
/// <para>
/// Rows: the batch is cut into one shard per compute actor of all nodes (<see cref="ShardPlan.Cut"/>),
/// and the nodes take consecutive shards in the tree's preorder, each as many as it has compute
/// actors: with a hub, node j owns shards [jK, (j+1)K). Every subtree then covers contiguous rows,
/// its root's first, so a node's result is its rows and its children's in order. Nodes left
/// without rows (a batch smaller than the compute actors) still take part in the tree.
/// The same node list, worker counts, batch and fan-out always give the same layout, so every sum
/// of a step is added in the same order.
/// </para>
/// </summary>
public static class BlockLayout
{
    public static int Parent(int node, int fanOut) => node < fanOut ? -1 : (node - fanOut) / fanOut;

    public static NodeBlock[] Lay(int rows, IReadOnlyList<int> workersPerNode, int fanOut)
    {
        if (fanOut < 1) throw new ArgumentOutOfRangeException(nameof(fanOut), fanOut, "the fan-out must be at least 1");
        int nodes = workersPerNode.Count;
        if (nodes < 1) throw new ArgumentOutOfRangeException(nameof(workersPerNode), "at least one node is needed");
        if (workersPerNode.Any(k => k < 1)) throw new ArgumentOutOfRangeException(nameof(workersPerNode), "every node needs at least one worker");
        var shards = ShardPlan.Cut(rows, workersPerNode.Sum());
        var children = new List<int>[nodes];
        for (int i = 0; i < nodes; i++) children[i] = [];
        var roots = new List<int>();
        for (int i = 0; i < nodes; i++)
        {
            int parent = Parent(i, fanOut);
            if (parent < 0) roots.Add(i);
            else children[parent].Add(i);
        }
        var own = new RowRange[nodes];
        var sizes = new int[nodes][];
        var subtree = new RowRange[nodes];
        int nextShard = 0, nextRow = 0;
        void Visit(int node)
        {
            int take = Math.Min(workersPerNode[node], shards.Length - nextShard);
            sizes[node] = [.. shards.Skip(nextShard).Take(take).Select(s => s.Count)];
            own[node] = new RowRange(nextRow, sizes[node].Sum());
            nextShard += take;
            nextRow += own[node].Count;
            foreach (var c in children[node]) Visit(c);
            subtree[node] = new RowRange(own[node].Start, nextRow - own[node].Start);
        }
        foreach (var r in roots) Visit(r);
        return [.. Enumerable.Range(0, nodes).Select(i => new NodeBlock(i, Parent(i, fanOut), own[i], sizes[i], [.. children[i]], subtree[i]))];
    }
}
