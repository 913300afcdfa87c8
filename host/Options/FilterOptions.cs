namespace TreePO.Hosting.Options;

/// <summary>DAPO's dynamic-sampling filter of `treepo train`: a query is kept only when its trajectories disagree on
/// correctness.</summary>
public sealed class FilterOptions
{
    /// <summary>The first round samples Oversample x QueriesPerStep queries (rounded up); kept groups fill the batch in
    /// draw order and the queries after the one that filled it go back to the data stream. 1: no oversampling.</summary>
    public double Oversample { get; set; } = 1.0;

    /// <summary>Rounds after the first when the batch is still short (each samples the missing count).</summary>
    public int MaxExtraRounds { get; set; } = 2;
}
