namespace Fmnist.Tests;

/// <summary>
/// Tests that need a program outside .NET (Chromium, Debian's PyTorch) skip, saying why, where it is
/// missing; under CI=true they run instead and fail with the same reason, so a CI that lost an install
/// step goes red rather than green with skips. ./test.sh installs them (scripts/ensure-test-deps.sh).
/// </summary>
public static class Dependencies
{
    public static bool InCi { get; } = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The Skip reason for a fact whose dependency is <paramref name="missing"/> (null when present).</summary>
    public static string? SkipReason(string? missing, bool inCi) => missing is null || inCi ? null : missing;

    /// <summary>Fails the running test when its dependency is missing (reached only under CI=true).</summary>
    public static void Require(string? missing)
    {
        if (missing is not null) throw new InvalidOperationException($"missing test dependency under CI=true: {missing}");
    }
}

public class DependenciesTests
{
    [Fact]
    public void A_missing_dependency_skips_locally_and_runs_to_fail_under_ci()
    {
        Assert.Equal("chromium missing", Dependencies.SkipReason("chromium missing", inCi: false));
        Assert.Null(Dependencies.SkipReason("chromium missing", inCi: true));
        Assert.Null(Dependencies.SkipReason(null, inCi: false));
        var e = Assert.Throws<InvalidOperationException>(() => Dependencies.Require("chromium missing"));
        Assert.Contains("chromium missing", e.Message);
        Dependencies.Require(null);
    }
}
