namespace TreePO.Testing;

/// <summary>
/// Waits for a condition with a deadline instead of sleeping a fixed time (too short on a busy machine, wasted on an
/// idle one) or spinning forever (a test that hangs instead of failing). The timeout names what was awaited.
/// </summary>
public static class Eventually
{
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what, int pollMs = 20) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, what, pollMs);

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, int pollMs = 20)
    {
        var end = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > end) throw new TimeoutException($"{what}: not so within {timeout.TotalSeconds:F1} s");
            await Task.Delay(pollMs);
        }
    }
}
