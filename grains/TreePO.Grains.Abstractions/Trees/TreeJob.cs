using System.Text.Json;
using TreePO.Core.Trees;

namespace TreePO.Grains.Trees;

/// <summary>One query's tree to sample. <see cref="ConfigJson"/> is the core TreeConfig in the trees.jsonl JSON
/// form (TreeJson.Options), so the wire never lags behind the sampler's options.</summary>
[GenerateSerializer, Immutable, Alias("treepo.tree-job")]
public sealed record TreeJob(
    [property: Id(0)] string QueryId,
    [property: Id(1)] string Question,
    [property: Id(2)] string Answer,
    [property: Id(3)] int[] PromptTokens,
    [property: Id(4)] ulong Seed,
    [property: Id(5)] int PolicyVersion,
    [property: Id(6)] string ConfigJson,
    [property: Id(7)] string? WeightsFrom = null)
{
    /// <param name="weightsFrom">The trainer grain that publishes <paramref name="policyVersion"/>: an engine that
    /// does not hold that version yet (a new silo, or an engine activated again after its directory entry was lost)
    /// pulls it from there before answering, instead of failing the tree.</param>
    public static TreeJob For(QueryItem query, TreeConfig config, ulong seed, int policyVersion = -1, string? weightsFrom = null) => new(
        query.Id, query.Question, query.Answer, query.PromptTokens, seed, policyVersion,
        JsonSerializer.Serialize(config, TreeJson.Options), weightsFrom);

    public QueryItem Query => new(QueryId, Question, Answer, PromptTokens);

    public TreeConfig Config()
    {
        try
        {
            return JsonSerializer.Deserialize<TreeConfig>(ConfigJson, TreeJson.Options)
                ?? throw new ArgumentException($"query {QueryId}: tree config is null");
        }
        catch (JsonException e) { throw new ArgumentException($"query {QueryId}: bad tree config: {e.Message}", e); }
    }
}
