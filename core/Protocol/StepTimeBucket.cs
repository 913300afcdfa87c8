namespace TreePO.Core.Protocol;

/// <summary>Engine steps whose batch held <see cref="MinBatch"/> to <see cref="MaxBatch"/> sequences (decode branches
/// plus prefill chunks), and the wall seconds they took (forward, sampling and bookkeeping): the step-time curve.</summary>
public sealed record StepTimeBucket(int MinBatch, int MaxBatch, long Steps, double Seconds)
{
    public double MeanMilliseconds => Steps == 0 ? 0 : Seconds * 1000 / Steps;

    /// <summary>Bucket index of a batch size: 1, 2-3, 4-7, ... (powers of two).</summary>
    public static int IndexOf(int batch) => batch <= 1 ? 0 : 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)batch);

    public static (int Min, int Max) RangeOf(int index) => index == 0 ? (1, 1) : (1 << index, (1 << (index + 1)) - 1);
}
