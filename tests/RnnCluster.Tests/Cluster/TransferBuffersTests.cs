using RnnCluster.Transport;
using Xunit;

namespace RnnCluster.Tests.Cluster;

/// <summary><see cref="TransferBuffers"/>, <see cref="SerializedPayload"/> and <see cref="ReceivedTensorArrays"/>: which buffer comes back, and when.</summary>
public sealed class TransferBuffersTests
{
    [Fact]
    public void Rent_gives_the_smallest_kept_buffer_that_fits_else_a_new_one()
    {
        var pool = new TransferBuffers(smallestPooled: 100, maxRetained: 4);
        var large = new byte[1000];
        var medium = new byte[500];
        pool.Return(large);
        pool.Return(medium);

        Assert.Same(medium, pool.Rent(400));
        Assert.Same(large, pool.Rent(400));
        var fresh = pool.Rent(400);
        Assert.Equal(400, fresh.Length);
        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void Small_buffers_are_not_kept_and_at_most_max_retained_are()
    {
        var pool = new TransferBuffers(smallestPooled: 100, maxRetained: 2);
        pool.Return(new byte[100]);
        Assert.Equal(0, pool.Retained);
        Assert.Equal(50, pool.Rent(50).Length);

        var oldest = new byte[200];
        pool.Return(oldest);
        pool.Return(new byte[300]);
        pool.Return(new byte[400]);
        Assert.Equal(2, pool.Retained);
        // The oldest made room: a request it alone would be the best fit for gets the next smallest.
        Assert.Equal(300, pool.Rent(150).Length);
    }

    [Fact]
    public void A_buffer_returned_twice_fails_loudly()
    {
        var pool = new TransferBuffers(smallestPooled: 10, maxRetained: 4);
        var buffer = new byte[100];
        pool.Return(buffer);
        Assert.Throws<InvalidOperationException>(() => pool.Return(buffer));
    }

    [Fact]
    public void A_shared_payload_goes_back_after_its_last_holder_releases_it()
    {
        var pool = new TransferBuffers(smallestPooled: 10, maxRetained: 4);
        var payload = new SerializedPayload(pool, new byte[100], 80, holders: 2);

        payload.Release();
        Assert.Equal(0, pool.Retained);
        payload.Release();
        Assert.Equal(1, pool.Retained);
        Assert.Throws<InvalidOperationException>(payload.Release);
    }

    [Fact]
    public void An_abandoned_payload_is_not_reused()
    {
        var pool = new TransferBuffers(smallestPooled: 10, maxRetained: 4);
        var payload = new SerializedPayload(pool, new byte[100], 80, holders: 2);

        payload.Abandon();  // one destination dropped it: chunks may still sit in remoting's queue
        payload.Release();

        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void Only_lent_tensor_arrays_are_taken_back_and_only_once()
    {
        var pool = new ReceivedTensorArrays(smallestPooled: 100, maxRetained: 4);
        var lent = pool.Rent(1000);
        var small = pool.Rent(50);
        var foreign = new float[1000]; // a local sender's own array

        pool.Recycle(foreign);
        pool.Recycle(small);
        Assert.Equal(0, pool.Retained);
        pool.Recycle(lent);
        pool.Recycle(lent);
        Assert.Equal(1, pool.Retained);

        Assert.Equal(999, pool.Rent(999).Length); // exact lengths only: a tensor's data matches its shape
        Assert.Same(lent, pool.Rent(1000));
        Assert.Equal(0, pool.Retained);
    }
}
