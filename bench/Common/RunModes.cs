namespace TreePO.Bench.Common;

public static class RunModes
{
    public static string Wire(this RunMode m) => m switch
    {
        RunMode.Tree => "tree",
        RunMode.Sequential => "sequential",
        _ => "no_sharing_lower_bound",
    };

    /// <summary>
    /// The order of the runs: tree and sequential alternate, and the pair's first mode swaps every repetition
    /// (T S, S T, T S, ...) so each mode goes first equally often and a drifting machine penalises neither; the
    /// lower bound, when asked for, runs after each pair.
    /// </summary>
    public static IReadOnlyList<(RunMode Mode, int Repetition)> Schedule(int repetitions, bool lowerBound)
    {
        var order = new List<(RunMode, int)>();
        for (int r = 0; r < repetitions; r++)
        {
            if (r % 2 == 0) order.AddRange([(RunMode.Tree, r), (RunMode.Sequential, r)]);
            else order.AddRange([(RunMode.Sequential, r), (RunMode.Tree, r)]);
            if (lowerBound) order.Add((RunMode.NoSharing, r));
        }
        return order;
    }
}
