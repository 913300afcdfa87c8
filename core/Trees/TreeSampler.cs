using TreePO.Core.Protocol;

namespace TreePO.Core.Trees;

/// <summary>
/// Grows one query's segment tree (docs/paper.md §2) against an <see cref="ISegmentGenerator"/>. Each round sends every
/// planned request at once (that is how the engine batches them), classifies the new segments in request order,
/// then plans the next round: budget transfer and the branching split while paths are active, DFS fallback when
/// none is. Nodes that can never be continued again are released as soon as that is known; the release (and the
/// caller's snapshot of the round) is awaited with the next round's requests, not before them.
/// </summary>
public sealed class TreeSampler
{
    readonly TreeConfig _config;
    readonly ISegmentGenerator _generator;
    readonly ITextDecoder _decoder;
    readonly IReadOnlySet<int> _eosIds;

    public TreeSampler(TreeConfig config, ISegmentGenerator generator, ITextDecoder decoder, IReadOnlySet<int> eosIds)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config.EnsureValid();
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        _eosIds = eosIds ?? throw new ArgumentNullException(nameof(eosIds));
    }

    public TreeConfig Config => _config;

    /// <summary>Runs one query's tree to completion.</summary>
    public Task<SegmentTree> RunAsync(QueryItem query, string treeId, ulong seed, int policyVersion, CancellationToken ct = default) =>
        RunAsync(query, treeId, seed, policyVersion, resumeFrom: null, onRound: null, ct);

    /// <summary>
    /// Runs one query's tree to completion, optionally starting from a snapshot of an interrupted run, and handing a
    /// snapshot to <paramref name="onRound"/> after every round. The next round's requests go out while it runs (they
    /// follow from the snapshot, so a run resumed from it sends them again); it completes before the round after.
    /// </summary>
    public async Task<SegmentTree> RunAsync(QueryItem query, string treeId, ulong seed, int policyVersion,
        TreeSnapshot? resumeFrom, Func<TreeSnapshot, CancellationToken, Task>? onRound, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrEmpty(treeId);
        if (query.PromptTokens is null || query.PromptTokens.Length == 0)
            throw new ArgumentException($"query {query.Id}: PromptTokens must not be empty", nameof(query));

        var run = resumeFrom is null
            ? Run.Start(this, query, treeId, seed, policyVersion)
            : Run.Resume(this, query, treeId, seed, policyVersion, resumeFrom);
        while (run.Pending.Count > 0)
        {
            await run.RoundAsync(ct);
            // Kept (stored, for a grain) while the next round runs; a round starts only after the one before was kept.
            if (onRound is not null) run.Behind(onRound(run.Snapshot(), ct));
        }
        await run.AwaitBehindAsync();
        await run.ReleaseAsync(run.Nodes.Select(n => n.Id), ct);
        return run.ToTree();
    }

    /// <summary>The mutable state of one tree while it grows.</summary>
    sealed class Run
    {
        readonly TreeSampler _s;
        readonly QueryItem _query;
        readonly string _treeId;
        readonly ulong _seed;
        readonly int _policyVersion;
        readonly string _prefix;
        readonly Dictionary<string, TreeNode> _byId = new(StringComparer.Ordinal);
        readonly HashSet<string> _released = new(StringComparer.Ordinal);
        readonly List<Trajectory> _finished = [];
        SamplingStats _stats = new();
        int _round;
        readonly List<Task> _behind = [];

        public List<TreeNode> Nodes { get; } = [];
        public List<PendingRequest> Pending { get; private set; } = [];

        TreeConfig Config => _s._config;

        Run(TreeSampler s, QueryItem query, string treeId, ulong seed, int policyVersion)
        {
            _s = s;
            _query = query;
            _treeId = treeId;
            _seed = seed;
            _policyVersion = policyVersion;
            _prefix = treeId + "/";
        }

        public static Run Start(TreeSampler s, QueryItem query, string treeId, ulong seed, int policyVersion)
        {
            var run = new Run(s, query, treeId, seed, policyVersion);
            var root = new TreeNode(treeId + "/root", null, 0, query.PromptTokens, [], string.Empty, null, null,
                policyVersion, null, 0, 0);
            run.Add(root);
            run.Pending = [new PendingRequest(root.Id, run.FirstFork(), null)];
            return run;
        }

        public static Run Resume(TreeSampler s, QueryItem query, string treeId, ulong seed, int policyVersion, TreeSnapshot snap)
        {
            if (snap.TreeId != treeId || snap.QueryId != query.Id || snap.Seed != seed || snap.PolicyVersion != policyVersion)
                throw new ArgumentException(
                    $"snapshot of tree {snap.TreeId} (query {snap.QueryId}, seed {snap.Seed}, policy {snap.PolicyVersion}) " +
                    $"does not belong to tree {treeId} (query {query.Id}, seed {seed}, policy {policyVersion})");
            var run = new Run(s, query, treeId, seed, policyVersion) { _round = snap.Round, _stats = snap.Stats };
            foreach (TreeNode n in snap.Nodes)
            {
                if (n.ParentId is not null && !run._byId.ContainsKey(n.ParentId))
                    throw new ArgumentException($"snapshot of tree {treeId}: node \"{n.Id}\" comes before its parent");
                run.Add(n);
            }
            foreach (string leaf in snap.FinishedLeaves) run._finished.Add(run.TrajectoryOf(run.Node(leaf)));
            foreach (PendingRequest p in snap.Pending) run.Node(p.ParentId);
            run.Pending = [.. snap.Pending];
            run._released.UnionWith(snap.Released);
            return run;
        }

        public TreeSnapshot Snapshot() => new(_treeId, _query.Id, _seed, _policyVersion, _round, [.. Nodes],
            _finished.Select(t => t.Leaf).ToArray(), [.. Pending], _released.Order(StringComparer.Ordinal).ToArray(), _stats);

        public SegmentTree ToTree() =>
            new(_treeId, _query, Config, _seed, _policyVersion, Nodes, _finished, _stats);

        void Add(TreeNode n)
        {
            _byId.Add(n.Id, n);
            Nodes.Add(n);
        }

        TreeNode Node(string id) => _byId.TryGetValue(id, out TreeNode? n) ? n
            : throw new ArgumentException($"tree {_treeId}: unknown node \"{id}\"");

        /// <summary>The first fork: b copies, or U{min..max} when the random initial divergence is on (docs/paper.md, deviation 1);
        /// w copies in sequential mode; never more than w.</summary>
        int FirstFork()
        {
            if (Config.Mode == SamplingMode.Sequential) return Config.Width;
            int n = Config.Branch;
            if (Config.InitDivergenceMax > Config.Branch)
            {
                int max = Math.Min(Config.InitDivergenceMax, Config.Width);
                int min = Math.Min(Config.InitDivergenceMin > 0 ? Config.InitDivergenceMin : Config.Branch, max);
                n = new SeededRandom(SeedMix.Derive(_seed, "init-divergence")).NextInclusive(min, max);
            }
            return Math.Min(n, Config.Width);
        }

        List<TreeNode> PathTo(TreeNode node)
        {
            var path = new List<TreeNode>(node.Depth + 1);
            for (TreeNode? n = node; n is not null; n = n.ParentId is null ? null : Node(n.ParentId)) path.Add(n);
            path.Reverse();
            return path;
        }

        Trajectory TrajectoryOf(TreeNode leaf)
        {
            if (leaf.Stop is not { } stop) throw new ArgumentException($"tree {_treeId}: node \"{leaf.Id}\" is not a leaf");
            return new Trajectory(leaf.Id, PathTo(leaf).Select(n => n.Id).ToArray(), stop, leaf.Round, leaf.ResponseLength);
        }

        string Relative(string id) => id.StartsWith(_prefix, StringComparison.Ordinal) ? id[_prefix.Length..] : id;

        public async Task RoundAsync(CancellationToken ct)
        {
            _round++;
            int k = 0;
            var requests = new List<(PendingRequest Plan, SegmentRequest Request, TreeNode Parent)>(Pending.Count);
            foreach (PendingRequest plan in Pending)
            {
                TreeNode parent = Node(plan.ParentId);
                var children = new string[plan.Branches];
                for (int i = 0; i < children.Length; i++) children[i] = $"{parent.Id}/{_round}-{k++}";
                int[] context = PathTo(parent).SelectMany(n => n.Tokens).ToArray();
                int maxTokens = Math.Min(Config.SegmentLength, Config.ResponseBudget - parent.ResponseLength);
                var request = new SegmentRequest(_treeId, parent.Id, context.Length, context, children, maxTokens,
                    Config.Sampling, SeedMix.Derive(_seed, "segment", Relative(children[0])), _policyVersion);
                requests.Add((plan, request, parent));
            }

            Task<SegmentResult[]> generating = Task.WhenAll(requests.Select(r => _s._generator.GenerateAsync(r.Request, ct)));
            await Task.WhenAll(generating, AwaitBehindAsync());
            SegmentResult[] results = await generating;

            bool tree = Config.Mode == SamplingMode.Tree;
            var active = new List<TreeNode>();
            int finishedThisRound = 0;
            int fallbacks = 0;
            long prefill = 0, decode = 0, reused = 0, recomputed = 0;
            for (int r = 0; r < requests.Count; r++)
            {
                var (plan, request, parent) = requests[r];
                SegmentResult result = results[r] ?? throw Bad(request, "the generator returned no result");
                if (plan.FallbackFrom is not null) fallbacks++;
                prefill += result.PrefillTokens;
                decode += result.DecodeTokens;
                reused += result.ReusedTokens;
                recomputed += result.RecomputedTokens;
                if (result.Branches is null || result.Branches.Length != request.Branches)
                    throw Bad(request, $"expected {request.Branches} branches, got {result.Branches?.Length ?? 0}");
                for (int i = 0; i < request.Branches; i++)
                {
                    TreeNode node = MakeNode(request, parent, result.Branches[i], request.ChildNodeIds[i], result.PolicyVersion,
                        plan.FallbackFrom);
                    Add(node);
                    if (node.Stop is not null)
                    {
                        _finished.Add(TrajectoryOf(node));
                        finishedThisRound++;
                    }
                    else active.Add(node);
                }
            }
            _stats = _stats with
            {
                InferenceCalls = _stats.InferenceCalls + requests.Count,
                Rounds = _round,
                FallbackRequests = _stats.FallbackRequests + fallbacks,
                PrefillTokens = _stats.PrefillTokens + prefill,
                DecodeTokens = _stats.DecodeTokens + decode,
                ReusedTokens = _stats.ReusedTokens + reused,
                RecomputedTokens = _stats.RecomputedTokens + recomputed,
            };

            Pending = tree ? Branch(active, finishedThisRound) : active.Select(n => new PendingRequest(n.Id, 1, null)).ToList();
            if (Pending.Count == 0 && tree) Pending = PlanFallback();
            // Not awaited here: the next round's requests go out without waiting for the engine to take the release
            // (an engine takes commands between steps, so waiting cost every round a step). Awaited once they have.
            Behind(ReleaseAsync(Unneeded(), ct));
        }

        /// <summary>Work of the last round that the next round's requests need not wait for.</summary>
        public void Behind(Task work) => _behind.Add(work);

        /// <summary>Waits for the last round's work left behind; its failure fails the tree.</summary>
        public async Task AwaitBehindAsync()
        {
            if (_behind.Count == 0) return;
            Task[] work = [.. _behind];
            _behind.Clear();
            await Task.WhenAll(work);
        }

        InvalidOperationException Bad(SegmentRequest request, string problem) =>
            new($"tree {_treeId}: segment request from node \"{request.ParentNodeId}\" (round {_round}): {problem}");

        TreeNode MakeNode(SegmentRequest request, TreeNode parent, SegmentBranch branch, string id, int policyVersion, string? fallbackFrom)
        {
            if (branch is null) throw Bad(request, $"branch for \"{id}\" is missing");
            if (branch.NodeId != id) throw Bad(request, $"branch answers node \"{branch.NodeId}\", expected \"{id}\"");
            int[] tokens = branch.Tokens ?? [];
            float[] logProbs = branch.LogProbs ?? [];
            if (tokens.Length == 0) throw Bad(request, $"branch \"{id}\" has no tokens");
            if (logProbs.Length != tokens.Length) throw Bad(request, $"branch \"{id}\" has {tokens.Length} tokens but {logProbs.Length} log-probs");
            if (tokens.Length > request.MaxTokens) throw Bad(request, $"branch \"{id}\" has {tokens.Length} tokens, more than the {request.MaxTokens} asked for");

            // EOS anywhere in the segment ends it (kept as the last token): every position, any of a set of ids
            // (docs/paper.md, deviation 5).
            int eos = SegmentClassifier.FirstEos(tokens, _s._eosIds);
            if (eos >= 0 && eos < tokens.Length - 1)
            {
                tokens = tokens[..(eos + 1)];
                logProbs = logProbs[..(eos + 1)];
            }
            bool hasEos = eos >= 0 || branch.Finish == SegmentFinish.Eos;
            if (!hasEos && tokens.Length < request.MaxTokens)
                throw Bad(request, $"branch \"{id}\" stopped after {tokens.Length} of {request.MaxTokens} tokens without EOS");

            string text = _s._decoder.Decode(tokens);
            int responseLength = parent.ResponseLength + tokens.Length;
            int depth = parent.Depth + 1;
            StopReason? stop = SegmentClassifier.Classify(Config, text, hasEos, responseLength, depth);
            return new TreeNode(id, parent.Id, depth, tokens, logProbs, text, hasEos ? SegmentFinish.Eos : SegmentFinish.Length,
                stop, policyVersion, fallbackFrom, _round, responseLength);
        }

        /// <summary>Budget transfer and the split of the branch budget over the active paths, in list order.</summary>
        List<PendingRequest> Branch(List<TreeNode> active, int finishedThisRound)
        {
            if (active.Count == 0) return [];
            int total = BranchingBudget.Total(Config.Width, Config.Branch, _finished.Count, finishedThisRound, active.Count);
            int[] counts;
            if (Config.Branching == BranchingPolicy.EvenSplit) counts = BranchingBudget.EvenSplit(total, active.Count);
            else
            {
                var scores = active.Select(n => BranchingBudget.Score(Config.LogProbScore,
                    PathTo(n).Skip(1).SelectMany(x => x.LogProbs).ToArray(), Config.SegmentLength)).ToArray();
                counts = BranchingBudget.LargestRemainder(BranchingBudget.Weights(scores, Config.LogProbDirection, Config.Temperature), total);
            }
            return active.Select((n, i) => new PendingRequest(n.Id, counts[i], null)).ToList();
        }

        /// <summary>DFS fallback: the root has no active path; fill the missing trajectories from finished prefixes.</summary>
        List<PendingRequest> PlanFallback()
        {
            int remaining = Config.Width - _finished.Count;
            if (Config.Fallback == FallbackPolicy.None || remaining <= 0) return [];
            var rng = new SeededRandom(SeedMix.Derive(_seed, "fallback", _round));
            var candidates = Fallback.Candidates(Config, _finished, rng);
            var plans = new List<PendingRequest>();
            if (candidates.Count == 0)
            {
                // Nothing to cut from: one fresh sample from the prompt (its donor is the root itself).
                plans.Add(new PendingRequest(Nodes[0].Id, Math.Min(Config.Branch, remaining), Nodes[0].Id));
            }
            foreach (Trajectory c in candidates)
            {
                if (remaining <= 0) break;
                int cut = Fallback.CutDepth(Config, c.ResponseLength, rng);
                int copies = Math.Min(Config.Branch, remaining);
                plans.Add(new PendingRequest(c.Path[cut], copies, c.Leaf));
                remaining -= copies;
            }
            if (_stats.FinishedAtFirstFallback < 0) _stats = _stats with { FinishedAtFirstFallback = _finished.Count };
            return plans;
        }

        /// <summary>Created nodes that no pending request continues through and no future fallback can cut at.</summary>
        IEnumerable<string> Unneeded()
        {
            var needed = new HashSet<string>(StringComparer.Ordinal) { Nodes[0].Id };
            foreach (PendingRequest p in Pending)
                for (TreeNode? n = Node(p.ParentId); n is not null && needed.Add(n.Id); n = n.ParentId is null ? null : Node(n.ParentId)) { }
            bool fallbackLater = Config.Mode == SamplingMode.Tree && Config.Fallback != FallbackPolicy.None && _finished.Count < Config.Width;
            if (fallbackLater)
                foreach (Trajectory t in _finished)
                    if (Fallback.IsEligible(Config, t))
                        for (int i = 0; i < t.Path.Count - 1; i++) needed.Add(t.Path[i]);
            return Nodes.Select(n => n.Id).Where(id => !needed.Contains(id));
        }

        public async Task ReleaseAsync(IEnumerable<string> ids, CancellationToken ct)
        {
            var fresh = ids.Where(id => !_released.Contains(id)).ToList();
            if (fresh.Count == 0) return;
            await _s._generator.ReleaseAsync(fresh, ct);
            _released.UnionWith(fresh);
        }
    }
}
