using Fmnist.Data;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>The server-wide budget of request-body bytes: reservations grow, refuse past the total, and give back all they held.</summary>
public sealed class BodyBudgetTests
{
    [Fact]
    public void Reservations_ShareTheTotal_RefuseWhatDoesNotFit_AndGiveItBack()
    {
        var budget = new BodyBudget(100);
        var first = budget.Open();
        first.Cover(60);
        first.Cover(40); // a smaller total than held takes nothing more
        using var second = budget.Open();
        var refused = Assert.Throws<BodyBudgetException>(() => second.Cover(50));
        Assert.Contains("(--body-budget-mb), no room for 50 bytes of this request's body", refused.Message);
        Assert.Equal(60, budget.Reserved); // a refused cover takes nothing
        second.Cover(10);
        second.Cover(40); // grows by 30 as more of the body arrives
        Assert.Equal(100, budget.Reserved);
        first.Dispose();
        first.Dispose(); // once only
        Assert.Equal(40, budget.Reserved);
        second.Cover(100);
        Assert.Equal(100, budget.Reserved);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(65_537)]
    public void ABudgetBelowOneBodyOrAbsurdlyLarge_IsRefusedNamingTheOption(int mb)
    {
        var e = Assert.Throws<FmnistException>(() => new ServeLimits(BodyBudgetBytes: mb * ServeLimits.Megabyte).Validate());
        Assert.Equal($"--body-budget-mb must be between 10 and 65536, got {mb}", e.Message);
    }
}
