namespace TreePO.Core.Trees;

/// <summary>The softmax temperature over training steps.</summary>
public enum TemperatureSchedule
{
    Constant,
    /// <summary>T = (mn+mx)/2 + (mx-mn)/2·sin(π·step/total + π/2): mx at step 0, mn at the end.</summary>
    SinusoidDescending,
    /// <summary>The mirror image: mn at step 0, mx at the end.</summary>
    SinusoidAscending,
}
