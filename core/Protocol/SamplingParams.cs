namespace TreePO.Core.Protocol;

/// <summary>Token sampling settings of one segment request. TopK &lt;= 0 and TopP &gt;= 1 switch those filters off.</summary>
public sealed record SamplingParams(float Temperature = 1.0f, float TopP = 1.0f, int TopK = -1)
{
    public static SamplingParams Default { get; } = new();
}
