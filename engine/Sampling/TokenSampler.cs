using TreePO.Core.Trees;
using TreePO.Core.Protocol;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Sampling;

/// <summary>
/// Temperature, top-k and top-p sampling by inverse CDF with a caller-supplied uniform per row; temperature 0 is
/// greedy. Each row is computed on its own (row-wise ops only), so its token does not depend on the other rows.
/// The returned log-prob is the token's under the untempered, unfiltered distribution (what the trainer compares with).
/// </summary>
public static class TokenSampler
{
    /// <param name="host">Whether rows that <see cref="HostSampler"/> serves (fp32 CPU logits, no top-k or top-p) are drawn
    /// in its pass over host memory; false: libtorch's ops always.</param>
    public static (int[] Tokens, float[] LogProbs) Sample(Tensor logits, IReadOnlyList<SampleRow> rows, bool host = true)
    {
        int n = rows.Count;
        if (n == 0) return ([], []);
        using var scope = NewDisposeScope();
        if (host && HostSampler.Serves(logits, rows)) return HostSampler.Sample(logits, rows);
        long vocab = logits.size(-1);
        var source = logits.index_select(0, tensor(rows.Select(r => (long)r.LogitRow).ToArray(), device: logits.device));
        var chosen = zeros([n, 1], ScalarType.Int64, logits.device);

        foreach (var group in Enumerable.Range(0, n).GroupBy(i => rows[i].Params))
        {
            var p = group.Key;
            int[] members = group.ToArray();
            var index = tensor(members.Select(i => (long)i).ToArray(), device: logits.device);
            var z = source.index_select(0, index);
            Tensor token;
            if (p.Temperature <= 0)
            {
                token = z.argmax(-1, keepdim: true);
            }
            else
            {
                z = z.DividedBy(p.Temperature);
                Tensor? ids = null;
                if (p.TopK > 0 && p.TopK < vocab) (z, ids) = z.topk(p.TopK, -1);
                else if (p.TopP < 1) (z, ids) = z.sort(-1, descending: true);
                var probs = z.softmax(-1);
                if (p.TopP < 1)
                {
                    // Sorted descending: keep a token while the mass before it is below top_p (the first always stays).
                    var before = probs.cumsum(-1).Minus(probs);
                    probs = probs.FilledWhere(before.AtLeast(p.TopP), 0);
                }
                var cdf = probs.cumsum(-1);
                var u = tensor(members.Select(i => (float)rows[i].Uniform).ToArray(), device: logits.device).unsqueeze(1);
                var target = u * cdf.narrow(1, cdf.size(1) - 1, 1);
                var j = searchsorted(cdf, target, right: true).ClampedAbove(cdf.size(1) - 1);
                token = ids is null ? j : ids.gather(1, j);
            }
            chosen.index_copy_(0, index, token);
        }

        var logProbs = source.gather(1, chosen).squeeze(1).Minus(source.logsumexp(-1));
        long[] tokens = chosen.squeeze(1).cpu().data<long>().ToArray();
        float[] lp = logProbs.cpu().data<float>().ToArray();
        return (tokens.Select(t => (int)t).ToArray(), lp);
    }
}
