namespace TreePO.Hosting.Options;

/// <summary>Token sampling of rollouts.</summary>
public sealed class SamplingOptions
{
    public float Temperature { get; set; } = 1.0f;
    public float TopP { get; set; } = 1.0f;

    /// <summary>0 or less: no top-k filter.</summary>
    public int TopK { get; set; } = -1;
}
