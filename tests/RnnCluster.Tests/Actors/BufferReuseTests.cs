using Akka.TestKit.Xunit2;
using RnnCluster.Coordinator.Actors;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Worker;
using Xunit;

namespace RnnCluster.Tests.Actors;

/// <summary>
/// The buffers local mode reuses from step to step instead of allocating (see
/// <see cref="WeightsOutbox"/>): when each one is the same array again, and when it must not be.
/// </summary>
public sealed class BufferReuseTests() : TestKit(AkkaConfig.ForTests(), nameof(BufferReuseTests))
{
    [Fact]
    public void The_weights_buffer_is_written_again_only_once_every_worker_it_went_to_has_answered()
    {
        var (a, b) = (CreateTestProbe("a").Ref, CreateTestProbe("b").Ref);
        var outbox = new WeightsOutbox();
        var first = outbox.Prepare([1f, 2f, 3f], [a, b]);
        Assert.Equal([1f, 2f, 3f], first.Data);

        // b has not answered: it may still be about to copy version 1, so version 2 gets a new array.
        outbox.Answered(a);
        var second = outbox.Prepare([4f, 5f, 6f], [a, b]);
        Assert.NotSame(first.Data, second.Data);
        Assert.Equal([1f, 2f, 3f], first.Data);
        Assert.Equal([4f, 5f, 6f], second.Data);

        // Both answered: version 3 goes in version 2's array.
        outbox.Answered(b);
        outbox.Answered(a);
        var third = outbox.Prepare([7f, 8f, 9f], [a]);
        Assert.Same(second.Data, third.Data);
        Assert.Equal([7f, 8f, 9f], third.Data);

        // Answers are counted per sending: a's answer to version 3 is needed again.
        var fourth = outbox.Prepare([0f, 0f, 1f], [a]);
        Assert.NotSame(third.Data, fourth.Data);
    }

    [Fact]
    public void Shard_inputs_are_the_same_buffers_for_the_same_shard_and_row_count_until_discarded()
    {
        var x = Tensor.Zeros(10, 3, 2);
        var y = Tensor.Zeros(10, 1);
        var inputs = new ShardInputs(x, y, [4, 5]);
        var full = inputs.For(0, 6);
        Assert.Equal([6, 3, 2], full.X.Shape);
        Assert.Equal([6, 1], full.Y.Shape);
        Assert.Equal([[6, 4], [6, 5]], full.States.Select(s => s.Shape));
        Assert.Same(full, inputs.For(0, 6));
        // The short last batch and another shard index each keep their own.
        var shortOne = inputs.For(0, 4);
        Assert.Equal([4, 3, 2], shortOne.X.Shape);
        Assert.NotSame(full.X.Data, shortOne.X.Data);
        Assert.NotSame(full.X.Data, inputs.For(1, 6).X.Data);
        Assert.Same(full, inputs.For(0, 6));
        Assert.Empty(new ShardInputs(x, y, []).For(0, 6).States);

        // A step dispatched again after a worker left: the first dispatch's buffers may still be read.
        inputs.Discard();
        Assert.NotSame(full.X.Data, inputs.For(0, 6).X.Data);
    }

    [Fact]
    public void Shard_outputs_keep_the_gradient_array_and_the_final_states_while_the_row_count_stays()
    {
        var outputs = new ShardOutputs(7, [new StateSlot(0, 0, 3), new StateSlot(0, 1, 3)]);
        Assert.Equal(7, outputs.Gradients.Length);
        var states = outputs.FinalStates(5);
        Assert.Equal([[5, 3], [5, 3]], states.Select(s => s.Shape));
        Assert.Same(states, outputs.FinalStates(5));
        var fewer = outputs.FinalStates(2);
        Assert.Equal([[2, 3], [2, 3]], fewer.Select(s => s.Shape));
        Assert.Empty(new ShardOutputs(7, []).FinalStates(5));
    }
}
