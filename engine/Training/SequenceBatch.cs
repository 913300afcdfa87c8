using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// Right-padded prompt+response rows as tensors aligned with next-token log-probs: column t of Mask, Advantages and
/// OldLogProbs describes the prediction of token t+1. Right padding needs no attention mask under causal attention
/// (real tokens never look forward), and padded columns are masked out of the loss. Laid out in host arrays and made
/// on <c>device</c> (CPU when none is given) with one copy each.
/// </summary>
public sealed record SequenceBatch(Tensor InputIds, Tensor Mask, Tensor Advantages, Tensor? OldLogProbs)
{
    public static SequenceBatch Build(IReadOnlyList<TrainingSample> rows, IReadOnlyList<float[]>? oldResponseLogProbs = null,
        Device? device = null)
    {
        int t = rows.Max(r => r.Length);
        var mask = new float[rows.Count * (t - 1)];
        var adv = new float[rows.Count * (t - 1)];
        var old = oldResponseLogProbs is null ? null : new float[rows.Count * (t - 1)];
        for (int r = 0; r < rows.Count; r++)
        {
            var s = rows[r];
            for (int i = 0; i < s.Response.Length; i++)
            {
                int col = r * (t - 1) + s.Prompt.Length - 1 + i;
                bool counts = s.ResponseMask?[i] ?? true;
                mask[col] = counts ? 1 : 0;
                adv[col] = s.AdvantageAt(i);
                if (old is not null) old[col] = oldResponseLogProbs![r][i];
            }
        }
        return new SequenceBatch(
            PaddedIds(rows, device),
            tensor(mask, device: device).reshape(rows.Count, t - 1),
            tensor(adv, device: device).reshape(rows.Count, t - 1),
            old is null ? null : tensor(old, device: device).reshape(rows.Count, t - 1));
    }

    /// <summary>The <c>[B, T]</c> ids alone (prompt, response, zeros after), for a forward that needs nothing else.</summary>
    public static Tensor PaddedIds(IReadOnlyList<TrainingSample> rows, Device? device = null)
    {
        int t = rows.Max(r => r.Length);
        var ids = new long[rows.Count * t];
        for (int r = 0; r < rows.Count; r++)
        {
            var s = rows[r];
            for (int i = 0; i < s.Prompt.Length; i++) ids[r * t + i] = s.Prompt[i];
            for (int i = 0; i < s.Response.Length; i++) ids[r * t + s.Prompt.Length + i] = s.Response[i];
        }
        return tensor(ids, device: device).reshape(rows.Count, t);
    }
}
