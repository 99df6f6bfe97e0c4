using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Protocol;
using Xunit;
using Xunit.Abstractions;
using static RnnCluster.Tests.Actors.ActorTestSupport;

namespace RnnCluster.Tests.Actors;

/// <summary>
/// The coordinator side of training with TestProbes standing in for workers: how a step is cut
/// into shards, how results are added up, which results are ignored, how stateful states are
/// carried (across a change of workers, through resets) and how a job fails or stops.
/// </summary>
public sealed class JobActorTests : TestKit
{
    private const int Timesteps = 3;
    private const int Features = 2;

    // A hub (every fake node a child of the job): the tree is tested in JobTreeTests.
    public JobActorTests(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString("rnncluster.tree.fan-out = 16").WithFallback(AkkaConfig.ForTests()), nameof(JobActorTests), output) { }

    private FakeWorker[] Workers(int count, string prefix = "w") =>
        [.. Enumerable.Range(1, count).Select(i => new FakeWorker(CreateTestProbe($"{prefix}{i}"), $"{prefix}{i}"))];

    private IActorRef StartJob(string id, JobSpec job, Dataset data, IEnumerable<FakeWorker> workers, IActorRef? subscriber = null) =>
        Sys.ActorOf(JobActor.Props(id, job, data, [.. workers.Select(w => new WorkerNodeRef(w.Ref, 1))], subscriber), $"job-{id}");

    private static float[] Zeros(int n) => new float[n];

    /// <summary>The job's weights, flat in the network's layout, with their version.</summary>
    private (long Version, float[] Parameters) Weights(IActorRef job, string id, Network network)
    {
        job.Tell(new GetWeights(id), TestActor);
        var reply = ExpectMsg<WeightsReply>(Wait);
        Assert.Equal(id, reply.JobId);
        return (reply.Version, Flat(network, reply.Weights));
    }

    /// <summary>Every shard of a step, one per worker in worker order, checked to cover [0, B) contiguously.</summary>
    private static Shard[] ExpectStep(FakeWorker[] workers, long step, int batch)
    {
        var shards = workers.Take(Math.Min(batch, workers.Length)).Select(w => w.ExpectShard(step)).ToArray();
        int next = 0;
        for (int i = 0; i < shards.Length; i++)
        {
            int count = shards[i].X.Shape[0];
            Assert.True(shards[i].RowStart == next, $"step {step} shard {i} starts at row {shards[i].RowStart}, expected {next} (contiguous, in worker order)");
            Assert.True(count >= 1, $"step {step} shard {i} is empty");
            Assert.Equal(count, shards[i].Y.Shape[0]);
            next += count;
        }
        Assert.Equal(batch, next);
        // Balanced: sizes differ by at most one, the first shards take the extra rows.
        var sizes = shards.Select(s => s.X.Shape[0]).ToArray();
        Assert.True(sizes.Max() - sizes.Min() <= 1, $"unbalanced shards {string.Join(",", sizes)}");
        Assert.Equal(sizes.OrderByDescending(s => s), sizes);
        Assert.Equal(shards.Length, shards.Select(s => s.ShardId).Distinct().Count());
        return shards;
    }

    // ---------------------------------------------------------------------------------------
    // (a) shards: rows, order, initial states
    // ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData(StatePolicyKind.FromData, null)] // shuffled: the rows come from the batch plan's order
    [InlineData(StatePolicyKind.Zeros, null)]
    [InlineData(StatePolicyKind.Stateful, false)]
    public void A_step_is_cut_into_contiguous_shards_over_the_workers_with_their_rows_and_initial_states(StatePolicyKind policy, bool? shuffle)
    {
        int rows = policy == StatePolicyKind.Stateful ? 24 : 20; // 20: a short last batch of 4 rows
        var job = SmallJob() with { Shuffle = shuffle, Epochs = 2, States = new StatePolicy { Policy = policy } };
        var network = NetworkOf(job, Features);
        var slotUnits = network.StateSlots.Select(s => s.Units).ToArray();
        var data = IndexedData(rows, Timesteps, Features, 1, slotUnits);
        var workers = Workers(3);
        var actor = StartJob("a", job, data, workers);

        // First the replica (model, loss) and the initial weights, to every worker.
        var initial = Initializers.InitialParameters(network, job.Seed);
        foreach (var w in workers)
        {
            var (load, weights) = w.ExpectReplica("a");
            Assert.Equal(job.ModelFor(Features).ToJson(), ModelSpec.FromJson(load.ModelJson).ToJson());
            Assert.Equal("mse", load.Loss);
            Assert.Equal(0, weights.Version);
            AssertBitIdentical(initial, weights.Parameters.Data, "initial weights");
        }

        var plan = new BatchPlan(rows, job.BatchSize, shuffle ?? true, policy == StatePolicyKind.Stateful, job.Seed);
        long step = 0;
        Tensor[]? carried = null;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var order = plan.Order(epoch);
            if (shuffle is null) Assert.NotEqual(Enumerable.Range(0, rows), order); // the test must see a shuffled order
            // Epoch 0: every batch; epoch 1: the first, to see the next epoch's order (and the reset).
            for (int b = 0; b < (epoch == 0 ? plan.BatchesPerEpoch : 1); b++, step++)
            {
                var batchRows = plan.Batch(order, b).ToArray();
                var shards = ExpectStep(workers, step, batchRows.Length);
                var x = Gather(data.X, batchRows);
                var y = Gather(data.Y, batchRows);
                for (int i = 0; i < shards.Length; i++)
                {
                    var s = shards[i];
                    int count = s.X.Shape[0];
                    string what = $"epoch {epoch} batch {b} shard {i}";
                    Assert.Equal("a", s.JobId);
                    Assert.Equal(step, s.WeightsVersion);
                    AssertTensor(Rows.Slice(x, s.RowStart, count), s.X, $"{what} x");
                    AssertTensor(Rows.Slice(y, s.RowStart, count), s.Y, $"{what} y");
                    switch (policy)
                    {
                        case StatePolicyKind.FromData:
                            Assert.Equal(data.InitialStates.Count, s.InitialStates.Count);
                            for (int k = 0; k < slotUnits.Length; k++)
                                AssertTensor(Rows.Slice(Gather(data.InitialStates[k], batchRows), s.RowStart, count), s.InitialStates[k], $"{what} state {k}");
                            break;
                        case StatePolicyKind.Zeros:
                            Assert.Empty(s.InitialStates);
                            break;
                        case StatePolicyKind.Stateful:
                            // Zeros at the start of each epoch (reset each_epoch), the carried states otherwise.
                            Assert.Equal(slotUnits.Length, s.InitialStates.Count);
                            for (int k = 0; k < slotUnits.Length; k++)
                            {
                                var expected = b == 0 ? Tensor.Zeros(count, slotUnits[k]) : Rows.Slice(carried![k], s.RowStart, count);
                                AssertTensor(expected, s.InitialStates[k], $"{what} state {k}");
                            }
                            break;
                    }
                }
                if (epoch == 1) break;
                var finals = shards.Select(s => FinalStates(s, slotUnits)).ToArray();
                for (int i = 0; i < shards.Length; i++)
                    workers[i].Reply(actor, shards[i], Zeros(network.ParameterCount), finals: policy == StatePolicyKind.Stateful ? finals[i] : null);
                carried = [.. slotUnits.Select((_, k) => new Tensor([.. finals.SelectMany(f => f[k].Data)], batchRows.Length, slotUnits[k]))];
                foreach (var w in workers) w.ExpectWeights(step + 1);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // (b) aggregation order
    // ---------------------------------------------------------------------------------------

    /// <summary>Gradient sums whose float total depends on the order they are added in.</summary>
    private static float[][] OrderSensitiveGradients(int parameters) =>
    [
        [.. Enumerable.Range(0, parameters).Select(j => 3f + j)],
        [.. Enumerable.Range(0, parameters).Select(_ => 1e8f)],
        [.. Enumerable.Range(0, parameters).Select(j => -1e8f + 16 * j)],
    ];

    [Fact]
    public void Gradients_are_added_in_shard_order_whatever_the_arrival_order()
    {
        var job = SmallJob() with { Epochs = 2 };
        var network = NetworkOf(job, Features);
        int p = network.ParameterCount;
        var data = IndexedData(8, Timesteps, Features, 1, []);
        var g = OrderSensitiveGradients(p);
        double[] lossSums = [0.1, 1e17, -1e17];

        // Expected: sum in shard order, divided by B = 8 (exact in float), SGD lr 1: w - mean.
        var w0 = Initializers.InitialParameters(network, job.Seed);
        var expected = new float[p];
        var arrivalOrder = new float[p];
        for (int j = 0; j < p; j++)
        {
            float sum = g[0][j];
            sum += g[1][j];
            sum += g[2][j];
            expected[j] = w0[j] - sum / 8f;
            float reverse = g[2][j];
            reverse += g[1][j];
            reverse += g[0][j];
            arrivalOrder[j] = w0[j] - reverse / 8f;
        }
        Assert.NotEqual(expected, arrivalOrder); // the test can tell the two orders apart

        var results = new Dictionary<string, (float[] Replica, float[] Reply, StepCompleted Step)>();
        foreach (var (id, reverseArrival) in new[] { ("fwd", false), ("rev", true) })
        {
            var workers = Workers(3, id);
            var subscriber = CreateTestProbe();
            var actor = StartJob(id, job, data, workers, subscriber.Ref);
            foreach (var w in workers) w.ExpectReplica(id);
            var shards = ExpectStep(workers, 0, 8);
            Assert.Equal(new[] { 3, 3, 2 }, shards.Select(s => s.X.Shape[0]));
            var replyOrder = reverseArrival ? new[] { 2, 1, 0 } : [0, 1, 2];
            foreach (var i in replyOrder) workers[i].Reply(actor, shards[i], g[i], lossSums[i]);

            var replicas = workers.Select(w => w.ExpectWeights(1).Parameters.Data).ToArray();
            var stepEvent = subscriber.ExpectMsg<StepCompleted>(Wait);
            ExpectStep(workers, 1, 8); // the job goes on
            var (version, reply) = Weights(actor, id, network);
            Assert.Equal(1, version);
            foreach (var r in replicas) AssertBitIdentical(reply, r, $"{id}: weights sent to a worker");
            results[id] = (replicas[0], reply, stepEvent);
        }

        AssertBitIdentical(expected, results["fwd"].Reply, "forward arrival: weights");
        AssertBitIdentical(expected, results["rev"].Reply, "reverse arrival: weights");
        AssertBitIdentical(results["fwd"].Reply, results["rev"].Reply, "forward vs reverse arrival");

        // The step's loss: loss sums in shard order over B (the sums above cancel only in that order).
        foreach (var (id, r) in results)
        {
            Assert.Equal(0, r.Step.Epoch);
            Assert.Equal(0, r.Step.Step);
            Assert.Equal(8, r.Step.Rows);
            Assert.Equal(3, r.Step.Workers);
            Assert.Equal((0.1 + 1e17 - 1e17) / 8, r.Step.Loss);
        }
    }

    // ---------------------------------------------------------------------------------------
    // (c) results to ignore
    // ---------------------------------------------------------------------------------------

    [Fact]
    public void Stale_duplicate_foreign_and_unknown_results_are_ignored_and_the_job_goes_on()
    {
        var job = SmallJob() with { Epochs = 3 };
        var network = NetworkOf(job, Features);
        int p = network.ParameterCount;
        var data = IndexedData(16, Timesteps, Features, 1, []);
        var workers = Workers(3);
        var actor = StartJob("c", job, data, workers);
        foreach (var w in workers) w.ExpectReplica("c");

        float[] Gradient(float v) => [.. Enumerable.Repeat(v, p)];
        var step0 = ExpectStep(workers, 0, 8);
        for (int i = 0; i < 3; i++) workers[i].Reply(actor, step0[i], Gradient(i + 1));
        foreach (var w in workers) w.ExpectWeights(1);
        var step1 = ExpectStep(workers, 1, 8);
        var (v1, w1) = Weights(actor, "c", network);
        Assert.Equal(1, v1);

        // Old step (its own shard id, and a current shard id with the old step number).
        workers[0].Reply(actor, step0[0], Gradient(1e6f));
        workers[0].Reply(actor, step1[0], Gradient(1e6f), step: 0);
        actor.Tell(new ShardFailed("c", 0, step0[1].ShardId, "late failure of an old step"), workers[1].Ref);
        // Another job's result for a current shard id.
        workers[1].Reply(actor, step1[1], Gradient(1e6f), jobId: "another-job");
        actor.Tell(new ShardFailed("another-job", 1, step1[1].ShardId, "not this job"), workers[1].Ref);
        // A shard id nobody was given.
        workers[2].Reply(actor, step1[2], Gradient(1e6f), shardId: 987654);
        actor.Tell(new ShardFailed("c", 1, 987654, "unknown shard"), workers[2].Ref);
        // Shard 0 answered, then answered again with another gradient.
        workers[0].Reply(actor, step1[0], Gradient(10));
        workers[0].Reply(actor, step1[0], Gradient(1e6f));

        var (vMid, wMid) = Weights(actor, "c", network);
        Assert.Equal(1, vMid);
        AssertBitIdentical(w1, wMid, "weights after ignored results");
        actor.Tell(new GetJobStatus("c"), TestActor);
        var status = ExpectMsg<JobStatus>(Wait);
        Assert.Equal(JobState.Running, status.State);
        Assert.Null(status.Error);
        foreach (var w in workers) w.ExpectNoShard();

        // The genuine results complete the step: only they count.
        workers[1].Reply(actor, step1[1], Gradient(20));
        workers[2].Reply(actor, step1[2], Gradient(30));
        foreach (var w in workers) w.ExpectWeights(2);
        ExpectStep(workers, 2, 8);
        var (v2, w2) = Weights(actor, "c", network);
        Assert.Equal(2, v2);
        var expected = w1.Select(x => x - (10f + 20f + 30f) / 8f).ToArray();
        AssertBitIdentical(expected, w2, "weights after step 1");
    }

    [Fact]
    public void A_result_with_the_wrong_row_count_fails_the_job_with_a_reason()
    {
        var job = SmallJob();
        var network = NetworkOf(job, Features);
        var workers = Workers(2);
        var subscriber = CreateTestProbe();
        var actor = StartJob("rows", job, IndexedData(8, Timesteps, Features, 1, []), workers, subscriber.Ref);
        foreach (var w in workers) w.ExpectReplica();
        var shards = ExpectStep(workers, 0, 8);
        workers[0].Reply(actor, shards[0], Zeros(network.ParameterCount), rows: 3);
        var failed = subscriber.ExpectMsg<JobFailed>(Wait);
        Assert.Contains("returned 3 rows", failed.Reason);
    }

    // ---------------------------------------------------------------------------------------
    // (d) stateful: the state table over a change of workers (through the coordinator)
    // ---------------------------------------------------------------------------------------

    private IActorRef Coordinator() => Sys.ActorOf(CoordinatorActor.Props());

    private static void Register(IActorRef coordinator, FakeWorker w, int expectedLive)
    {
        coordinator.Tell(new RegisterWorker(w.Name, 1), w.Ref);
        Assert.Equal(expectedLive, w.Probe.ExpectMsg<WorkerRegistered>(Wait).LiveWorkers);
    }

    private string Start(IActorRef coordinator, JobSpec job, Dataset data, IActorRef? subscriber)
    {
        coordinator.Tell(new StartJob(job.ToJson(), data.X, data.Y, data.InitialStates, subscriber), TestActor);
        var reply = ExpectMsg<object>(Wait);
        return reply is JobStarted s ? s.JobId : throw new Xunit.Sdk.XunitException($"expected JobStarted, got {reply}");
    }

    /// <summary>The rows' states as one (batch, units) tensor per slot, from shards' final states.</summary>
    private static Tensor[] Table(IReadOnlyList<(Shard Shard, Tensor[] Finals)> parts, int batch, IReadOnlyList<int> slots) =>
    [
        .. slots.Select((units, k) =>
        {
            var t = Tensor.Zeros(batch, units);
            foreach (var (shard, finals) in parts) finals[k].Data.CopyTo(t.Data, shard.RowStart * units);
            return t;
        }),
    ];

    private static void AssertCarries(Shard[] shards, Tensor[] table, string what)
    {
        foreach (var s in shards)
        {
            Assert.Equal(table.Length, s.InitialStates.Count);
            for (int k = 0; k < table.Length; k++)
                AssertTensor(Rows.Slice(table[k], s.RowStart, s.X.Shape[0]), s.InitialStates[k], $"{what}: shard at row {s.RowStart}, state {k}");
        }
    }

    [Fact]
    public void Stateful_rows_keep_their_states_when_a_worker_joins_and_when_one_leaves()
    {
        var coordinator = Coordinator();
        var workers = Workers(3);
        Register(coordinator, workers[0], 1);
        Register(coordinator, workers[1], 2);
        var job = StatefulJob(batch: 6, reset: StateReset.Never, epochs: 4);
        var data = IndexedData(12, Timesteps, Features, 1, []);
        var id = Start(coordinator, job, data, null);
        int p = NetworkOf(job, Features).ParameterCount;
        workers[0].ExpectReplica(id);
        workers[1].ExpectReplica(id);

        // Step 0 on two workers: rows [0, 3) and [3, 6), from zeros.
        var step0 = ExpectStep(workers[..2], 0, 6);
        AssertCarries(step0, [.. StatefulSlots.Select(u => Tensor.Zeros(6, u))], "step 0");

        // A third worker registers while step 0 is in flight: it gets the replica now, shards from the next step.
        Register(coordinator, workers[2], 3);
        workers[2].ExpectReplica(id);
        workers[2].ExpectNoShard();

        var finals0 = step0.Select(s => (s, FinalStates(s, StatefulSlots))).ToList();
        for (int i = 0; i < 2; i++) workers[i].Reply(LastJob(workers[i]), step0[i], Zeros(p), finals: finals0[i].Item2);
        foreach (var w in workers) w.ExpectWeights(1);

        // Step 1 on three workers: rows [0, 2), [2, 4), [4, 6), each carrying its own row's final states of step 0.
        var step1 = ExpectStep(workers, 1, 6);
        Assert.Equal(new[] { 0, 2, 4 }, step1.Select(s => s.RowStart));
        var table0 = Table(finals0, 6, StatefulSlots);
        AssertCarries(step1, table0, "step 1 after a worker joined");

        // Worker 1 answers, then worker 3 stops during the step: the step is computed again on two
        // workers from the same states, and the old dispatch's results no longer count.
        workers[0].Reply(LastJob(workers[0]), step1[0], Zeros(p), finals: FinalStates(step1[0], StatefulSlots));
        ((IInternalActorRef)workers[2].Ref).Stop();
        // The left node might have been passing the weights on in a tree: the others get them again, straight from the job.
        foreach (var w in workers[..2]) w.ExpectWeights(1);
        var again = ExpectStep(workers[..2], 1, 6);
        Assert.Equal(new[] { 0, 3 }, again.Select(s => s.RowStart));
        Assert.DoesNotContain(again, s => step1.Any(old => old.ShardId == s.ShardId));
        AssertCarries(again, table0, "step 1 recomputed after a worker left");
        workers[1].Reply(LastJob(workers[1]), step1[1], Zeros(p), finals: FinalStates(step1[1], StatefulSlots)); // old dispatch: ignored
        workers[0].ExpectNoShard();

        var finals1 = again.Select(s => (s, FinalStates(s, StatefulSlots))).ToList();
        for (int i = 0; i < 2; i++) workers[i].Reply(LastJob(workers[i]), again[i], Zeros(p), finals: finals1[i].Item2);
        foreach (var w in workers[..2]) w.ExpectWeights(2);
        var step2 = ExpectStep(workers[..2], 2, 6);
        AssertCarries(step2, Table(finals1, 6, StatefulSlots), "step 2");
    }

    /// <summary>The job actor that last sent this worker a shard or a replica.</summary>
    private static IActorRef LastJob(FakeWorker w) => w.Job;

    [Fact]
    public void A_stateful_job_whose_rows_are_not_whole_batches_is_rejected_at_start()
    {
        var coordinator = Coordinator();
        var worker = Workers(1)[0];
        Register(coordinator, worker, 1);
        var job = StatefulJob(batch: 4);
        var data = IndexedData(10, Timesteps, Features, 1, []); // 10 rows: not a multiple of 4
        coordinator.Tell(new StartJob(job.ToJson(), data.X, data.Y, data.InitialStates, null), TestActor);
        var reply = ExpectMsg<object>(Wait);
        var rejected = Assert.IsType<JobRejected>(reply);
        Assert.Contains("whole batches", rejected.Reason);
    }

    // ---------------------------------------------------------------------------------------
    // (e) resets
    // ---------------------------------------------------------------------------------------

    /// <summary>Runs a 2-worker stateful job through step 0 and into step 1; returns the actor, workers, step 1's shards and the table after step 0.</summary>
    private (IActorRef Actor, FakeWorker[] Workers, Shard[] Step1, int Parameters) StatefulToStep1(string id, JobSpec job)
    {
        var workers = Workers(2, id);
        var actor = StartJob(id, job, IndexedData(12, Timesteps, Features, 1, []), workers);
        int p = NetworkOf(job, Features).ParameterCount;
        foreach (var w in workers) w.ExpectReplica(id);
        var step0 = ExpectStep(workers, 0, 6);
        for (int i = 0; i < 2; i++) workers[i].Reply(actor, step0[i], Zeros(p), finals: FinalStates(step0[i], StatefulSlots));
        foreach (var w in workers) w.ExpectWeights(1);
        return (actor, workers, ExpectStep(workers, 1, 6), p);
    }

    /// <summary>Finishes step 1 with its final states; returns step 2's shards and the table of step 1's final states.</summary>
    private static (Shard[] Step2, Tensor[] Table1) FinishStep1(IActorRef actor, FakeWorker[] workers, Shard[] step1, int p, long nextStep = 2)
    {
        var finals = step1.Select(s => (s, FinalStates(s, StatefulSlots))).ToList();
        for (int i = 0; i < 2; i++) workers[i].Reply(actor, step1[i], Zeros(p), finals: finals[i].Item2);
        foreach (var w in workers) w.ExpectWeights(2);
        return (ExpectStep(workers, nextStep, 6), Table(finals, 6, StatefulSlots));
    }

    public static TheoryData<string> Resets => ["zeros everywhere", "values for rows 1 and 4 of layer 0", "zeros for layer 1", "values for every row of every layer"];

    [Theory]
    [MemberData(nameof(Resets))]
    public void ResetStates_changes_what_the_next_step_carries(string reset)
    {
        var (actor, workers, step1, p) = StatefulToStep1("reset", StatefulJob());
        var h = new Tensor([-1f, -2f, -3f, -4f], 2, 2);
        var c = new Tensor([-5f, -6f, -7f, -8f], 2, 2);
        var everyRow = StatefulSlots.Select((u, k) => new Tensor([.. Enumerable.Range(0, 6 * u).Select(i => -(k + 1) * 100f - i)], 6, u)).ToArray();
        var message = reset switch
        {
            "zeros everywhere" => new ResetStates("reset", null, null, null),
            "values for rows 1 and 4 of layer 0" => new ResetStates("reset", 0, [1, 4], [h, c]),
            "zeros for layer 1" => new ResetStates("reset", 1, null, null),
            _ => new ResetStates("reset", null, null, everyRow),
        };
        // Sent during step 1: it waits for the step to end and applies before step 2.
        actor.Tell(message, TestActor);
        ExpectNoMsg(Quiet);
        var (step2, table) = FinishStep1(actor, workers, step1, p);
        ExpectMsg<StatesReset>(Wait);

        var expected = table.Select(t => t.Clone()).ToArray();
        switch (reset)
        {
            case "zeros everywhere":
                foreach (var t in expected) Array.Clear(t.Data);
                break;
            case "values for rows 1 and 4 of layer 0":
                for (int j = 0; j < 2; j++)
                {
                    int row = j == 0 ? 1 : 4;
                    Array.Copy(h.Data, j * 2, expected[0].Data, row * 2, 2);
                    Array.Copy(c.Data, j * 2, expected[1].Data, row * 2, 2);
                }
                break;
            case "zeros for layer 1":
                Array.Clear(expected[2].Data);
                break;
            default:
                expected = everyRow;
                break;
        }
        AssertCarries(step2, expected, $"after reset '{reset}'");
    }

    [Fact]
    public void ResetStates_is_refused_for_a_wrong_shape_a_bad_layer_or_row_and_changes_nothing()
    {
        var (actor, workers, step1, p) = StatefulToStep1("refuse", StatefulJob());
        ResetStates[] bad =
        [
            new("refuse", 0, [1, 4], [new Tensor(new float[6], 2, 3), new Tensor(new float[4], 2, 2)]), // h of 3 units; the LSTM has 2
            new("refuse", 0, null, [Tensor.Zeros(6, 2)]), // one tensor for a layer with h and c
            new("refuse", 2, null, null), // the Dense layer has no state
            new("refuse", null, [6], null), // row outside the batch
        ];
        foreach (var m in bad) actor.Tell(m, TestActor);
        var (step2, table) = FinishStep1(actor, workers, step1, p);
        var replies = ReceiveN(bad.Length, Wait);
        foreach (var r in replies)
        {
            var failed = Assert.IsType<RequestFailed>(r);
            Assert.StartsWith("reset states:", failed.Reason);
        }
        AssertCarries(step2, table, "after refused resets");
    }

    [Fact]
    public void ResetStates_is_refused_for_a_job_that_is_not_stateful()
    {
        var workers = Workers(1);
        var actor = StartJob("plain", SmallJob(), IndexedData(8, Timesteps, Features, 1, []), workers);
        workers[0].ExpectReplica();
        actor.Tell(new ResetStates("plain", null, null, null), TestActor);
        var shard = workers[0].ExpectShard(0);
        workers[0].Reply(actor, shard, Zeros(NetworkOf(SmallJob(), Features).ParameterCount));
        var failed = ExpectMsg<RequestFailed>(Wait);
        Assert.Contains("not stateful", failed.Reason);
    }

    [Theory]
    [InlineData(StateReset.EachEpoch)]
    [InlineData(StateReset.Never)]
    public void States_reset_to_zeros_at_each_epoch_end_when_the_job_asks_for_it(StateReset reset)
    {
        // 12 rows of batch 6: steps 0 and 1 are epoch 0; step 2 starts epoch 1.
        var (actor, workers, step1, p) = StatefulToStep1($"epoch-{reset}", StatefulJob(reset: reset));
        var (step2, table1) = FinishStep1(actor, workers, step1, p);
        Tensor[] expected = reset == StateReset.EachEpoch ? [.. StatefulSlots.Select(u => Tensor.Zeros(6, u))] : table1;
        AssertCarries(step2, expected, $"first step of epoch 1 with reset {reset}");
    }

    // ---------------------------------------------------------------------------------------
    // (f) a failed shard fails the job; the coordinator runs the next one
    // ---------------------------------------------------------------------------------------

    [Fact]
    public void A_failed_shard_fails_the_job_and_the_coordinator_runs_the_next_job()
    {
        var coordinator = Coordinator();
        var workers = Workers(2);
        Register(coordinator, workers[0], 1);
        Register(coordinator, workers[1], 2);
        var subscriber = CreateTestProbe();
        var job = SmallJob("first") with { Epochs = 1 };
        var data = IndexedData(8, Timesteps, Features, 1, []);
        int p = NetworkOf(job, Features).ParameterCount;

        var first = Start(coordinator, job, data, subscriber.Ref);
        foreach (var w in workers) w.ExpectReplica(first);
        var shards = ExpectStep(workers, 0, 8);
        workers[0].Reply(LastJob(workers[0]), shards[0], Zeros(p));
        LastJob(workers[1]).Tell(new ShardFailed(first, 0, shards[1].ShardId, "w2: out of memory"), workers[1].Ref);
        var failed = subscriber.ExpectMsg<JobFailed>(Wait);
        Assert.Equal(first, failed.JobId);
        Assert.Contains("w2: out of memory", failed.Reason);
        foreach (var w in workers)
        {
            w.ExpectDropReplica(first);
            w.ExpectNoShard();
        }

        coordinator.Tell(new GetJobStatus(first), TestActor);
        var status = ExpectMsg<JobStatus>(Wait);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("w2: out of memory", status.Error);

        // The next job runs to the end on the same workers.
        var second = Start(coordinator, job with { Name = "second" }, data, subscriber.Ref);
        Assert.NotEqual(first, second);
        foreach (var w in workers) w.ExpectReplica(second);
        var next = ExpectStep(workers, 0, 8);
        Assert.All(next, s => Assert.Equal(second, s.JobId));
        for (int i = 0; i < 2; i++) workers[i].Reply(LastJob(workers[i]), next[i], Zeros(p));
        Assert.Equal(second, subscriber.ExpectMsg<StepCompleted>(Wait).JobId);
        var epoch = subscriber.ExpectMsg<EpochCompleted>(Wait);
        Assert.Equal(1, epoch.Epochs);
        var finished = subscriber.ExpectMsg<JobFinished>(Wait);
        Assert.Equal(second, finished.JobId);
        Assert.Equal(1, finished.WeightsVersion);
    }

    // ---------------------------------------------------------------------------------------
    // robustness: a worker's bad answer or a worker lost during the end-of-epoch evaluation
    // ---------------------------------------------------------------------------------------

    [Fact]
    public void Stateful_final_states_of_the_wrong_shape_fail_the_job_instead_of_restarting_it()
    {
        var workers = Workers(2);
        var subscriber = CreateTestProbe();
        var job = StatefulJob();
        int p = NetworkOf(job, Features).ParameterCount;
        var actor = StartJob("bad-states", job, IndexedData(12, Timesteps, Features, 1, []), workers, subscriber.Ref);
        foreach (var w in workers) w.ExpectReplica();
        var shards = ExpectStep(workers, 0, 6);
        workers[0].Reply(actor, shards[0], Zeros(p), finals: FinalStates(shards[0], StatefulSlots));
        workers[1].Reply(actor, shards[1], Zeros(p), finals: FinalStates(shards[1], [2, 2])); // one state short
        var failed = subscriber.ExpectMsg<JobFailed>(Wait);
        Assert.Equal($"shard 1 of step 0: a shard returned 2 states; the model has {StatefulSlots.Length}", failed.Reason);
        // Not restarted from scratch: no new replica, no new step 0.
        foreach (var w in workers)
        {
            w.ExpectDropReplica("bad-states");
            w.ExpectNoShard();
        }
        actor.Tell(new GetJobStatus("bad-states"), TestActor);
        Assert.Equal(JobState.Failed, ExpectMsg<JobStatus>(Wait).State);
    }

    [Fact]
    public void A_late_evaluation_answer_from_before_a_worker_left_is_ignored()
    {
        var coordinator = Coordinator();
        var workers = Workers(3);
        for (int i = 0; i < 3; i++) Register(coordinator, workers[i], i + 1);
        var subscriber = CreateTestProbe();
        // 16 rows: 8 to train (one batch), 8 for validation.
        var job = SmallJob() with { ValidationSplit = 0.5, Epochs = 2 };
        var data = IndexedData(16, Timesteps, Features, 1, []);
        int p = NetworkOf(job, Features).ParameterCount;
        var id = Start(coordinator, job, data, subscriber.Ref);
        foreach (var w in workers) w.ExpectReplica(id);
        var step0 = ExpectStep(workers, 0, 8);
        for (int i = 0; i < 3; i++) workers[i].Reply(LastJob(workers[i]), step0[i], Zeros(p));
        foreach (var w in workers) w.ExpectWeights(1);

        // Evaluation over three workers: validation rows [8, 11), [11, 14), [14, 16), named by row range (the nodes hold the data).
        var first = workers.Select(w => w.Probe.ExpectMsg<PredictRows>(Wait)).ToArray();
        Assert.Equal(new[] { 8, 11, 14 }, first.Select(r => r.RowStart));
        Assert.Equal(new[] { 3, 3, 2 }, first.Select(r => r.Count));
        PredictResult Answer(PredictRows r, bool right)
        {
            var output = Rows.Slice(data.Y, r.RowStart, r.Count).Clone();
            if (!right) Array.Fill(output.Data, -50f);
            return new PredictResult(id, output, []);
        }
        first[0].ReplyTo.Tell(Answer(first[0], right: false), workers[0].Ref);

        // Worker 3 leaves: the evaluation starts again over two workers, [8, 12) and [12, 16).
        ((IInternalActorRef)workers[2].Ref).Stop();
        var second = workers[..2].Select(w => w.Probe.ExpectMsg<PredictRows>(Wait)).ToArray();
        Assert.Equal(new[] { 4, 4 }, second.Select(r => r.Count));
        // Worker 2 answers the first round's request late, then both answer the second round.
        first[1].ReplyTo.Tell(Answer(first[1], right: false), workers[1].Ref);
        for (int i = 0; i < 2; i++) second[i].ReplyTo.Tell(Answer(second[i], right: true), workers[i].Ref);

        // Only the second round counts: its predictions equal the targets, so the validation loss is 0.
        subscriber.ExpectMsg<StepCompleted>(Wait);
        var epoch = subscriber.ExpectMsg<EpochCompleted>(Wait);
        Assert.Equal(0, epoch.ValidationLoss);
        foreach (var w in workers[..2]) w.ExpectShard(1);
    }

    // ---------------------------------------------------------------------------------------
    // (g) stop
    // ---------------------------------------------------------------------------------------

    [Fact]
    public void StopJob_stops_after_the_current_step()
    {
        var workers = Workers(2);
        var subscriber = CreateTestProbe();
        var job = SmallJob() with { Epochs = 5 };
        int p = NetworkOf(job, Features).ParameterCount;
        var actor = StartJob("stop", job, IndexedData(16, Timesteps, Features, 1, []), workers, subscriber.Ref);
        foreach (var w in workers) w.ExpectReplica();
        var shards = ExpectStep(workers, 0, 8);

        actor.Tell(new StopJob("stop"), TestActor);
        Assert.Equal(JobState.Running, ExpectMsg<JobStatus>(Wait).State);
        // The step in flight still completes and counts.
        for (int i = 0; i < 2; i++) workers[i].Reply(actor, shards[i], Enumerable.Repeat(8f, p).ToArray());
        var step = subscriber.ExpectMsg<StepCompleted>(Wait);
        Assert.Equal(0, step.Step);
        var failed = subscriber.ExpectMsg<JobFailed>(Wait);
        Assert.Equal("stopped on request", failed.Reason);
        foreach (var w in workers)
        {
            w.ExpectWeights(1);
            w.ExpectDropReplica("stop");
            w.ExpectNoShard();
        }
        actor.Tell(new GetJobStatus("stop"), TestActor);
        var status = ExpectMsg<JobStatus>(Wait);
        Assert.Equal(JobState.Stopped, status.State);
        Assert.Equal(1, status.WeightsVersion);
    }
}
