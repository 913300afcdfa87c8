namespace TreePO.Engine;

/// <summary>A request expected weights of a version the engine does not hold (any more, or yet).</summary>
public sealed class PolicyVersionMismatchException(int expected, int actual)
    : ArgumentException($"the request expects policy version {expected}, but the engine holds version {actual}")
{
    public int Expected { get; } = expected;
    public int Actual { get; } = actual;
}
