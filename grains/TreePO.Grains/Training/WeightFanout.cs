using TreePO.Grains.Engines;

namespace TreePO.Grains.Training;

/// <summary>
/// How a trainer's new version reaches the cluster's engines (Cluster:WeightFanout, docs/cluster.md). "direct": every
/// engine pulls it from the trainer's silo, which sends the weights once per engine. "tree": the trainer's silo sends
/// them to <see cref="Degree"/> engines, and every engine passes what it receives on to <see cref="Degree"/> more while
/// it receives it (<see cref="WeightStream.WeightRelay"/>), so the trainer's silo sends them <see cref="Degree"/> times
/// whatever the number of engines, and the last engine gets its first byte after about log_Degree(engines) hops of a
/// chunk rather than after every other engine's share of the trainer's link.
/// </summary>
public sealed record WeightFanout(string Mode = WeightFanout.Direct, int Degree = 2)
{
    public const string Direct = "direct";
    public const string Tree = "tree";
    public static readonly string[] Modes = [Direct, Tree];
    public const int MaxDegree = 64;

    public bool IsTree => Mode.Equals(Tree, StringComparison.OrdinalIgnoreCase);

    /// <summary>Errors of the two keys, each naming its key under "Cluster:".</summary>
    public static IReadOnlyList<string> Errors(string mode, int degree)
    {
        var errors = new List<string>();
        if (!Modes.Contains(mode, StringComparer.OrdinalIgnoreCase))
            errors.Add($"Cluster:WeightFanout: '{mode}' is not one of {string.Join(", ", Modes)}");
        if (degree is < 1 or > MaxDegree)
            errors.Add($"Cluster:WeightFanoutDegree: must be in 1..{MaxDegree}, got {degree}");
        return errors;
    }

    /// <summary>Each engine's place in round <paramref name="round"/>, by its position in <paramref name="engines"/>:
    /// none in direct mode; in tree mode engine i reads from engine (i - Degree) / Degree (the first Degree from the
    /// trainer) and serves engines Degree (i + 1) onwards, at most Degree of them.</summary>
    public WeightRelayPlan?[] Plan(IReadOnlyList<string> engines, string round)
    {
        var plans = new WeightRelayPlan?[engines.Count];
        if (!IsTree) return plans;
        for (int i = 0; i < engines.Count; i++)
            plans[i] = new WeightRelayPlan(round, i < Degree ? null : engines[(i - Degree) / Degree],
                Math.Clamp(engines.Count - Degree * (i + 1), 0, Degree));
        return plans;
    }
}
