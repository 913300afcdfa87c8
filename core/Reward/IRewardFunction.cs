namespace TreePO.Core.Reward;

/// <summary>Scores one response against a ground-truth answer. Implementations must never throw or hang: a response
/// that cannot be judged is simply wrong.</summary>
public interface IRewardFunction
{
    RewardResult Score(string response, string answer);
}
