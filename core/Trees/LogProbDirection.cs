namespace TreePO.Core.Trees;

/// <summary>Which paths the log-prob policy favours.</summary>
public enum LogProbDirection
{
    /// <summary>"Low Prob Encourage": shift = -(c - min c).</summary>
    LowProbEncouraged,
    /// <summary>"High Prob Encourage" (the <c>inverse_</c> variants): shift = +(c - min c).</summary>
    HighProbEncouraged,
}
