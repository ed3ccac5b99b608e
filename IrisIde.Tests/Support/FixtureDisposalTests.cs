namespace IrisIde.Tests.Support;

/// <summary>
/// xunit 2 ends a class or collection fixture through <see cref="IAsyncLifetime"/> or <see cref="IDisposable"/>
/// only: a fixture that is just <see cref="IAsyncDisposable"/> is never disposed, and what it started (ready
/// sandboxes, web apps, containers) outlives its test class and turns up in the next class's after-checks.
/// </summary>
public sealed class FixtureDisposalTests
{
    [Fact]
    public void Every_fixture_that_holds_something_is_one_xunit_disposes()
    {
        var fixtures = typeof(FixtureDisposalTests).Assembly.GetTypes()
            .SelectMany(type => type.GetInterfaces())
            .Where(contract => contract.IsGenericType
                && (contract.GetGenericTypeDefinition() == typeof(IClassFixture<>) || contract.GetGenericTypeDefinition() == typeof(ICollectionFixture<>)))
            .Select(contract => contract.GetGenericArguments()[0])
            .Distinct()
            .ToList();

        Assert.Contains(typeof(Runs.PipelineFixture), fixtures);
        var neverDisposed = fixtures
            .Where(fixture => typeof(IAsyncDisposable).IsAssignableFrom(fixture)
                && !typeof(IAsyncLifetime).IsAssignableFrom(fixture) && !typeof(IDisposable).IsAssignableFrom(fixture))
            .Select(fixture => fixture.FullName);
        Assert.Empty(neverDisposed);
    }
}
