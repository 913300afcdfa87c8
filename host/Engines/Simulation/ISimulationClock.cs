namespace TreePO.Hosting.Engines.Simulation;

/// <summary>The time a simulated engine sleeps in: the real one (<see cref="Real"/>), or a test's own.</summary>
public interface ISimulationClock
{
    /// <summary>Waits out one step.</summary>
    Task Delay(TimeSpan duration, CancellationToken cancellationToken);

    public static ISimulationClock Real { get; } = new RealClock();

    sealed class RealClock : ISimulationClock
    {
        public Task Delay(TimeSpan duration, CancellationToken cancellationToken) =>
            duration <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(duration, cancellationToken);
    }
}
