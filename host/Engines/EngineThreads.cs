namespace TreePO.Hosting.Engines;

/// <summary>
/// The torch threads of an engine when <c>Engine:Threads</c> is 0: every core but one on machines with more than two,
/// so the engine's step does not take the cores Orleans' scheduler needs to answer calls and probes (a silo whose
/// scheduler starves misses membership probes and is declared dead); every core on one or two, where leaving one out
/// would halve the engine for a scheduler that is mostly idle while the engine steps.
/// </summary>
public static class EngineThreads
{
    public static int For(int configured, int cores) => configured > 0 ? configured : cores > 2 ? cores - 1 : Math.Max(1, cores);
}
