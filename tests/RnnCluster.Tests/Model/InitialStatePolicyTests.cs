using RnnCluster.Model;
using Xunit;

namespace RnnCluster.Tests.Model;

public sealed class InitialStatePolicyTests
{
    private static readonly Tensor Carried0 = Tensor.Zeros(2, 3), Carried1 = Tensor.Zeros(2, 3);

    [Fact]
    public void An_explicit_list_wins_whole_even_over_carried_states()
    {
        var given = new Tensor?[] { null, Tensor.Zeros(2, 3) };
        Assert.Same(given, InitialStatePolicy.Choose(given, [Carried0, Carried1], _ => true));
    }

    [Fact]
    public void Without_explicit_states_only_stateful_slots_carry()
    {
        var chosen = InitialStatePolicy.Choose(null, [Carried0, Carried1], k => k == 1);
        Assert.NotNull(chosen);
        Assert.Null(chosen[0]);
        Assert.Same(Carried1, chosen[1]);
        Assert.Null(InitialStatePolicy.Choose(null, [Carried0, Carried1], _ => false));
    }

    [Fact]
    public void Write_is_zeros_unless_values_are_given()
    {
        var target = new float[] { 9, 9 };
        InitialStatePolicy.Write(target, null);
        Assert.Equal([0f, 0f], target);
        InitialStatePolicy.Write(target, [1, 2, 3, 4], offset: 2);
        Assert.Equal([3f, 4f], target);
    }
}
