namespace TreePO.Core.Reward;

/// <summary>Scores one response against a ground-truth answer. Implementations must never throw or hang: a response
/// that cannot be judged is simply wrong.</summary>
public interface IRewardFunction
{
    RewardResult Score(string response, string answer);

    /// <summary>Scores a response whose length in tokens is known (a length-aware reward such as DAPO's overlong
    /// penalty uses it); by default the length is ignored.</summary>
    RewardResult Score(string response, string answer, int responseTokens) => Score(response, answer);
}
