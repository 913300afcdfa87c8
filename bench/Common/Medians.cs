namespace TreePO.Bench.Common;

/// <summary>Medians over repetitions. Ratios pair repetition r of one mode with repetition r of the other, so drift
/// that hits both runs of a pair cancels before the median is taken.</summary>
public static class Medians
{
    public static double Of(IEnumerable<double> values)
    {
        double[] v = values.Order().ToArray();
        if (v.Length == 0) throw new ArgumentException("no values to take the median of", nameof(values));
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>median over r of numerator[r] / denominator[r].</summary>
    public static double OfRatios(IReadOnlyList<double> numerator, IReadOnlyList<double> denominator)
    {
        if (numerator.Count != denominator.Count)
            throw new ArgumentException($"{numerator.Count} numerators but {denominator.Count} denominators");
        return Of(numerator.Zip(denominator, (a, b) => b == 0 ? double.NaN : a / b).Where(x => !double.IsNaN(x)));
    }
}
