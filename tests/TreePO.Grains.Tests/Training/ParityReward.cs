using TreePO.Core.Reward;

namespace TreePO.Grains.Tests.Training;

/// <summary>A reward a random model earns about half the time: correct when the response's length in characters
/// is even. The math reward would judge every answer of a random model wrong, and the filter would drop them all.</summary>
public sealed class ParityReward : IRewardFunction
{
    public RewardResult Score(string response, string answer)
    {
        bool even = response.Length % 2 == 0;
        return new RewardResult(even, (response.Length % 3).ToString(System.Globalization.CultureInfo.InvariantCulture), even ? 1 : -1);
    }
}
