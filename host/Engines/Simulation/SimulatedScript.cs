using TreePO.Core.Protocol;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Engines.Simulation;

/// <summary>
/// What a simulated engine answers: tokens of the model's own vocabulary, so trees decode, score and stop on them as
/// on a model's. A branch continues its answer with words of a fixed list until its length is reached, then writes
/// "The answer is \boxed{N}." and an EOS. Where an answer ends is drawn token by token with the hazard of a normal
/// length distribution (<see cref="EngineSimulationOptions.ResponseMean"/>, <see cref="EngineSimulationOptions.ResponseStdDev"/>),
/// so every path, however its segments were cut and forked, ends at a length drawn from it. The position in the
/// answer is the context's length after the last assistant turn marker (0 at every request under a raw prompt).
/// Every choice derives from the request's seed and the branch index: same request, same tokens.
/// </summary>
public sealed class SimulatedScript
{
    readonly int[] words;
    readonly int[][] answers;   // "The answer is \boxed{N}." for N = 0..99
    readonly int[] assistantMarker;
    readonly double[] hazard;   // P(answer ends at t | not before t), t = response tokens so far
    readonly int eos;

    public SimulatedScript(Func<string, int[]> encode, int eosId, EngineSimulationOptions options)
    {
        eos = eosId;
        const string Text = "Let us work it out step by step . First we add the numbers , then we carry the tens and " +
            "check the sum again . So the total is the value we want ; half of it , twice that , minus one , plus " +
            "seven , times three , divided by two gives";
        words = [.. Text.Split(' ').Concat(Enumerable.Range(0, 100).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .SelectMany(w => encode(" " + w)).Distinct().Where(id => id != eosId)];
        answers = [.. Enumerable.Range(0, 100).Select(n => encode($" The answer is \\boxed{{{n}}}."))];
        assistantMarker = encode("<|im_start|>assistant\n");
        hazard = Hazard(options.ResponseMean, options.ResponseStdDev, options.ResponseMin);
    }

    /// <summary>The longest tail an answer ends with (its boxed sentence and the EOS).</summary>
    public int TailLength => answers.Max(a => a.Length) + 1;

    /// <summary>Response tokens already in <paramref name="context"/>: those after the last assistant marker.</summary>
    public int ResponseOffset(int[] context)
    {
        var m = assistantMarker;
        if (m.Length == 0) return 0;
        for (int end = context.Length - m.Length; end >= 0; end--)
            if (context.AsSpan(end, m.Length).SequenceEqual(m)) return context.Length - end - m.Length;
        return 0;
    }

    /// <summary>Branch <paramref name="branch"/> of a request seeded <paramref name="seed"/>, starting
    /// <paramref name="offset"/> tokens into the answer, at most <paramref name="maxTokens"/> tokens.</summary>
    public SegmentBranch Branch(string nodeId, ulong seed, int branch, int offset, int maxTokens)
    {
        var rng = new Random(SeedMix.ToInt32(SeedMix.Derive(seed, "simulated-engine", branch)));
        var tokens = new List<int>(maxTokens);
        var logps = new List<float>(maxTokens);
        void Add(int id) { tokens.Add(id); logps.Add(-(float)(0.05 + 3 * rng.NextDouble())); }
        bool ending = false;
        while (tokens.Count < maxTokens)
        {
            int t = offset + tokens.Count;
            // An end drawn where its sentence does not fit this segment waits for the first position where it does.
            ending |= rng.NextDouble() < (t < hazard.Length ? hazard[t] : 1.0);
            var answer = answers[rng.Next(answers.Length)];
            if (ending && maxTokens - tokens.Count >= answer.Length + 1)
            {
                foreach (int id in answer) Add(id);
                Add(eos);
                return new SegmentBranch(nodeId, [.. tokens], [.. logps], SegmentFinish.Eos);
            }
            Add(words[rng.Next(words.Length)]);
        }
        return new SegmentBranch(nodeId, [.. tokens], [.. logps], SegmentFinish.Length);
    }

    /// <summary>The hazard of a normal length distribution over whole tokens, from <paramref name="min"/> up to 6
    /// standard deviations above the mean (1 beyond it).</summary>
    static double[] Hazard(double mean, double sd, int min)
    {
        int max = (int)Math.Ceiling(mean + 6 * Math.Max(sd, 0.5));
        var pmf = new double[max + 1];
        for (int t = min; t <= max; t++)
            pmf[t] = sd <= 0 ? (t == (int)Math.Round(mean) ? 1 : 0) : Math.Exp(-0.5 * Math.Pow((t - mean) / sd, 2));
        double survival = pmf.Sum();
        var h = new double[max + 1];
        for (int t = 0; t <= max; t++)
        {
            h[t] = survival <= 0 ? 1 : pmf[t] / survival;
            survival -= pmf[t];
        }
        return h;
    }
}
