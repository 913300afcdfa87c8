namespace TreePO.Core.Reward;

/// <summary>
/// How the math reward scores (options section <c>Reward</c>, docs/reward.md).
/// </summary>
/// <param name="CorrectScore">Reward of a correct answer.</param>
/// <param name="WrongScore">Reward of a wrong or missing answer (-1 as in the authors' runs, or 0).</param>
/// <param name="BoxedOnly">Only a <c>\boxed{}</c> answer counts (the paper's and DAPO's graders): no "the answer is"
/// or last-number fallback, so a truncated path cannot earn the reward with a stray number.</param>
/// <param name="OverlongBuffer">DAPO's soft overlong penalty: over the last this many tokens of the response budget
/// the score falls linearly by up to <paramref name="OverlongPenalty"/>; 0 turns it off.</param>
/// <param name="OverlongPenalty">The penalty at (and past) the end of the budget.</param>
/// <param name="ResponseBudget">The response budget in tokens the penalty measures against (0: none known, no penalty).</param>
public sealed record RewardSettings(
    double CorrectScore = 1.0,
    double WrongScore = -1.0,
    bool BoxedOnly = false,
    int OverlongBuffer = 0,
    double OverlongPenalty = 1.0,
    int ResponseBudget = 0)
{
    /// <summary>Range errors, each naming its option (prefixed by <paramref name="prefix"/>).</summary>
    public IReadOnlyList<string> Validate(string prefix = "")
    {
        var errors = new List<string>();
        if (!double.IsFinite(CorrectScore)) errors.Add($"{prefix}CorrectScore must be a finite number, got {CorrectScore}");
        if (!double.IsFinite(WrongScore)) errors.Add($"{prefix}WrongScore must be a finite number, got {WrongScore}");
        if (OverlongBuffer < 0) errors.Add($"{prefix}OverlongBuffer must be 0 (off) or more, got {OverlongBuffer}");
        if (!(OverlongPenalty >= 0) || !double.IsFinite(OverlongPenalty)) errors.Add($"{prefix}OverlongPenalty must be 0 or more, got {OverlongPenalty}");
        if (ResponseBudget < 0) errors.Add($"{prefix}ResponseBudget must be 0 or more, got {ResponseBudget}");
        if (OverlongBuffer > 0 && ResponseBudget > 0 && OverlongBuffer > ResponseBudget)
            errors.Add($"{prefix}OverlongBuffer ({OverlongBuffer}) must not exceed the response budget ({ResponseBudget} tokens)");
        return errors;
    }

    /// <summary>
    /// DAPO's soft overlong punishment (Yu et al. 2025, eq. 13): 0 up to <c>budget - buffer</c> tokens, then falling
    /// linearly to <c>-OverlongPenalty</c> at the budget, and <c>-OverlongPenalty</c> beyond it.
    /// </summary>
    public double OverlongTerm(int responseTokens)
    {
        if (OverlongBuffer <= 0 || ResponseBudget <= 0 || responseTokens < 0) return 0;
        int free = ResponseBudget - OverlongBuffer;
        if (responseTokens <= free) return 0;
        if (responseTokens > ResponseBudget) return -OverlongPenalty;
        return -OverlongPenalty * (responseTokens - free) / OverlongBuffer;
    }
}
