using TreePO.Core.Eval;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Tests.Trees;
using TreePO.Core.Trees;

namespace TreePO.Core.Tests.Eval;

public sealed class EvaluatorTests
{
    // Answers "\boxed{<prompt text>}" on branches below the number of correct answers the prompt's query gets,
    // "\boxed{0}" on the others, then EOS.
    sealed class Answering(IReadOnlyDictionary<string, int> correctCount) : ISegmentGenerator
    {
        public int Requests;

        public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Requests);
            string question = CharDecoder.Instance.Decode(request.Context);
            var branches = request.ChildNodeIds.Select((id, i) =>
            {
                string text = i < correctCount[question] ? $"\\boxed{{{question}}}" : "\\boxed{0}";
                int[] tokens = [.. CharDecoder.Encode(text), 0];
                return new SegmentBranch(id, tokens, tokens.Select(_ => -0.5f).ToArray(), SegmentFinish.Eos);
            }).ToArray();
            return Task.FromResult(new SegmentResult(branches, 0, request.Context.Length, branches.Sum(b => b.Tokens.Length), 0));
        }

        public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }

    [Fact]
    public async Task Samples_k_answers_per_query_and_scores_them()
    {
        var queries = new[] { "7", "12", "30" }.Select(a => new QueryItem("q" + a, a, a, CharDecoder.Encode(a))).ToArray();
        var gen = new Answering(new Dictionary<string, int> { ["7"] = 4, ["12"] = 1, ["30"] = 0 });
        var evaluator = new Evaluator(gen, CharDecoder.Instance, CharDecoder.Eos, MathReward.PlusMinusOne);

        var report = await evaluator.RunAsync(queries, new EvalSettings(K: 4, MaxResponseTokens: 16), seed: 1, runId: "r");

        Assert.Equal((1.0 + 0.25 + 0) / 3, report.Scores.MeanAtK, 12);
        Assert.Equal(1.0 / 3, report.Scores.MajAtK, 12);      // "7" wins its vote; "12" loses 1 to 3; "30" never right
        Assert.Equal(2.0 / 3, report.Scores.PassAtK, 12);     // k = n = 4: any correct sample passes
        Assert.All(report.Samples, s => Assert.Equal(4, s.Correct.Count));
        Assert.Equal("0", report.Samples[2].Extracted[0]);
        Assert.Equal(3, gen.Requests);                         // one request per query: the k samples fork at the prompt
        // \boxed{7} and \boxed{0} are 9 characters, \boxed{12} is 10, each plus EOS: 40 + (11 + 30) + 40.
        Assert.Equal(121, report.GeneratedTokens);
    }
}
