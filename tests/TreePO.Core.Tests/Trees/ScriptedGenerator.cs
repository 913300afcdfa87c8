using System.Collections.Concurrent;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;

namespace TreePO.Core.Tests.Trees;

/// <summary>Token id = character code; ids below 32 are specials that decode to nothing (0 and 1 are EOS).</summary>
public sealed class CharDecoder : ITextDecoder
{
    public static CharDecoder Instance { get; } = new();
    public static IReadOnlySet<int> Eos { get; } = new HashSet<int> { 0, 1 };

    public string Decode(IReadOnlyList<int> tokens) => string.Concat(tokens.Where(t => t >= 32).Select(t => (char)t));

    public static int[] Encode(string text) => text.Select(c => (int)c).ToArray();
}

/// <summary>What a scripted segment sees: the request, which branch, the branch's seed, the response so far (text)
/// and the parent's depth.</summary>
public sealed record Call(SegmentRequest Request, int Branch, ulong BranchSeed, string ResponseSoFar, int ParentDepth, int Round)
{
    public int MaxTokens => Request.MaxTokens;
}

/// <summary>A scripted segment: its text, whether an EOS token follows it, and the log-prob of every token.
/// Text shorter than the request's budget without EOS is padded with seeded random letters (never repetitive);
/// longer text is cut.</summary>
public sealed record Seg(string Text, bool Eos = false, float LogProb = -1f, int EosId = 0);

/// <summary>
/// An <see cref="ISegmentGenerator"/> driven by a function, which also checks the protocol on every call: the
/// context is exactly prompt + the parent path's tokens (so a fallback continues prompt + truncated response), the
/// parent was not released, child ids are fresh and unique, MaxTokens fits the budget.
/// </summary>
public sealed class ScriptedGenerator(int[] prompt, Func<Call, Seg> script, int policyVersion = 3) : ISegmentGenerator
{
    readonly ConcurrentDictionary<string, int[]> _tokens = new();
    readonly ConcurrentDictionary<string, string> _parents = new();
    readonly ConcurrentDictionary<string, int> _releaseCounts = new();
    readonly List<SegmentRequest> _requests = [];
    readonly List<string> _errors = [];
    int _inFlight, _maxInFlight;

    public IReadOnlyList<SegmentRequest> Requests { get { lock (_requests) return _requests.ToList(); } }
    public IReadOnlyDictionary<string, int> ReleaseCounts => _releaseCounts;
    /// <summary>Release calls in order, each with the ids it named.</summary>
    public List<string[]> ReleaseCalls { get; } = [];
    public int MaxInFlight => _maxInFlight;
    public IReadOnlyList<string> Errors { get { lock (_errors) return _errors.ToList(); } }

    /// <summary>Makes the generator know a resumed tree's earlier nodes and releases (as an engine that served the
    /// interrupted run would, for the protocol checks).</summary>
    public void Preload(TreeSnapshot snapshot)
    {
        foreach (TreeNode n in snapshot.Nodes.Where(n => !n.IsRoot))
        {
            _tokens[n.Id] = n.Tokens;
            _parents[n.Id] = n.ParentId!;
        }
        foreach (string id in snapshot.Released) _releaseCounts[id] = 1;
    }

    void Check(bool ok, string message)
    {
        if (!ok) lock (_errors) _errors.Add(message);
    }

    public async Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        int now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen) { }
        await Task.Yield(); // every request of a round starts before any completes when they are issued together
        lock (_requests) _requests.Add(request);

        // Rebuild the expected context from the nodes this generator produced.
        var path = new List<int>();
        var chain = new List<string>();
        for (string? id = request.ParentNodeId; id is not null && _tokens.ContainsKey(id); id = _parents.GetValueOrDefault(id)) chain.Add(id);
        chain.Reverse();
        foreach (string id in chain) path.AddRange(_tokens[id]);
        int[] expected = [.. prompt, .. path];
        Check(request.Context.SequenceEqual(expected), $"context of {request.ParentNodeId} is not prompt + path");
        Check(request.ParentTokenCount == request.Context.Length, "ParentTokenCount != Context.Length");
        Check(request.ParentNodeId.EndsWith("/root") || _tokens.ContainsKey(request.ParentNodeId), $"unknown parent {request.ParentNodeId}");
        Check(!_releaseCounts.ContainsKey(request.ParentNodeId), $"parent {request.ParentNodeId} continued after release");
        Check(request.MaxTokens >= 1, "MaxTokens < 1");
        Check(request.PolicyVersion == policyVersion, "policy version not passed on");
        Check(request.Branches >= 1, "no branches");

        var branches = new SegmentBranch[request.Branches];
        for (int i = 0; i < request.Branches; i++)
        {
            string child = request.ChildNodeIds[i];
            Check(child.StartsWith(request.ParentNodeId + "/", StringComparison.Ordinal), $"child {child} does not extend its parent");
            ulong branchSeed = SeedMix.Derive(request.Seed, i);
            string soFar = CharDecoder.Instance.Decode(request.Context[prompt.Length..]);
            int round = int.Parse(child[(child.LastIndexOf('/') + 1)..].Split('-')[0]);
            Seg seg = script(new Call(request, i, branchSeed, soFar, chain.Count, round));
            var tokens = new List<int>(CharDecoder.Encode(seg.Text));
            if (seg.Eos) tokens.Add(seg.EosId);
            if (tokens.Count > request.MaxTokens) tokens = tokens.Take(request.MaxTokens).ToList();
            var rng = new SeededRandom(branchSeed);
            if (!seg.Eos) while (tokens.Count < request.MaxTokens) tokens.Add('a' + rng.NextInclusive(0, 25));
            int[] arr = [.. tokens];
            Check(_tokens.TryAdd(child, arr), $"child id {child} reused");
            _parents[child] = request.ParentNodeId;
            SegmentFinish finish = arr.Any(CharDecoder.Eos.Contains) ? SegmentFinish.Eos : SegmentFinish.Length;
            branches[i] = new SegmentBranch(child, arr, Enumerable.Repeat(seg.LogProb, arr.Length).ToArray(), finish);
        }
        Interlocked.Decrement(ref _inFlight);
        return new SegmentResult(branches, policyVersion, request.Context.Length, branches.Sum(b => b.Tokens.Length), 0);
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
    {
        lock (ReleaseCalls) ReleaseCalls.Add([.. nodeIds]);
        foreach (string id in nodeIds) _releaseCounts.AddOrUpdate(id, 1, (_, c) => c + 1);
        return Task.CompletedTask;
    }
}

public static class Trees
{
    public static readonly int[] Prompt = CharDecoder.Encode("Q: 1+1?");
    public static QueryItem Query(string answer = "2") => new("q1", "1+1?", answer, Prompt);

    public static async Task<(SegmentTree Tree, ScriptedGenerator Gen)> RunAsync(TreeConfig config, Func<Call, Seg> script,
        ulong seed = 7, string treeId = "b0/q1")
    {
        var gen = new ScriptedGenerator(Prompt, script);
        var sampler = new TreeSampler(config, gen, CharDecoder.Instance, CharDecoder.Eos);
        SegmentTree tree = await sampler.RunAsync(Query(), treeId, seed, policyVersion: 3);
        Assert.Empty(gen.Errors);
        return (tree, gen);
    }

    /// <summary>A plain segment: random letters up to the budget, no EOS.</summary>
    public static Seg Plain(Call _) => new("");
}
