using System.Runtime;

namespace TreePO.Bench.Common;

/// <summary>
/// Methods the JIT compiled in this process, and the time it spent on them, between two points. Tiered compilation
/// recompiles hot methods on a background thread for seconds after start; on two cores that thread takes time from
/// the run being measured, so every timed run reports what the JIT did during it.
/// </summary>
public readonly record struct JitActivity(long Methods, double Milliseconds)
{
    public static JitActivity Now() =>
        new(JitInfo.GetCompiledMethodCount(), JitInfo.GetCompilationTime().TotalMilliseconds);

    public JitActivity Since(JitActivity start) => new(Methods - start.Methods, Milliseconds - start.Milliseconds);

    public static JitActivity operator +(JitActivity a, JitActivity b) => new(a.Methods + b.Methods, a.Milliseconds + b.Milliseconds);
}
