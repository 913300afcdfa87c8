using TreePO.Core.Reward;

namespace TreePO.Core.Eval;

/// <summary>
/// Evaluation metrics over k samples per query.
/// mean@k: the fraction of correct samples, averaged over queries.
/// maj@k: whether the most frequent extracted answer is correct, answers counted by meaning (equivalent answers
/// such as 0.5 and \frac12 vote together, see <see cref="MathEquivalence"/>). Samples without an answer do not vote. Tie rule:
/// among answers with the same count, the one whose first occurrence comes earliest wins (deterministic, and the
/// same rule a reader applies by scanning the samples in order). A query where no sample has an answer scores 0.
/// pass@k: the unbiased estimator 1 - C(n-c, k)/C(n, k) of Chen et al. (2021) with n samples of which c are correct;
/// with k = n it is 1 when any sample is correct.
/// </summary>
public static class SampleMetrics
{
    public static EvalScores Score(IReadOnlyList<QuerySamples> queries, int? passK = null)
    {
        if (queries.Count == 0) return new EvalScores(0, 0, 0, 0, 0);
        int k = passK ?? queries.Min(q => q.Correct.Count);
        double mean = 0, maj = 0, pass = 0;
        foreach (var q in queries)
        {
            if (q.Extracted.Count != q.Correct.Count)
                throw new ArgumentException($"query {q.QueryId}: {q.Extracted.Count} answers but {q.Correct.Count} judgements");
            if (q.Correct.Count == 0) throw new ArgumentException($"query {q.QueryId} has no samples");
            mean += q.Correct.Count(c => c) / (double)q.Correct.Count;
            maj += MajorityCorrect(q) ? 1 : 0;
            pass += PassAtK(q.Correct.Count, q.Correct.Count(c => c), Math.Min(k, q.Correct.Count));
        }
        int n = queries.Count;
        return new EvalScores(mean / n, maj / n, pass / n, n, k);
    }

    public static bool MajorityCorrect(QuerySamples q)
    {
        // Votes count by meaning: 0.5, \frac12 and 1/2 are one answer. Each answer joins the first earlier group whose
        // answer it is equivalent to (equal strings without parsing).
        var groups = new List<(string Text, MathNode Node, int Count, int First, bool Correct)>();
        for (int i = 0; i < q.Extracted.Count; i++)
        {
            string? a = q.Extracted[i];
            if (a is null) continue;
            MathNode? node = null;
            int match = groups.FindIndex(g => g.Text == a);
            if (match < 0)
            {
                node = MathParser.Parse(a);
                match = groups.FindIndex(g => MathEquivalence.AreEquivalent(g.Node, node));
            }
            if (match >= 0) groups[match] = groups[match] with { Count = groups[match].Count + 1 };
            else groups.Add((a, node!, 1, i, q.Correct[i]));
        }
        if (groups.Count == 0) return false;
        return groups.OrderByDescending(g => g.Count).ThenBy(g => g.First).First().Correct;
    }

    /// <summary>1 - C(n-c, k) / C(n, k), computed as a product to stay exact-ish for large n.</summary>
    public static double PassAtK(int n, int c, int k)
    {
        if (k <= 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"k={k} must be in 1..n={n}");
        if (c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), $"c={c} must be in 0..n={n}");
        if (n - c < k) return 1.0;
        double fail = 1.0;
        for (int i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
        return 1.0 - fail;
    }
}
