using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Grains.Engines;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Trees;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Trees;

/// <summary>A tree keeps the snapshot of its last finished round in grain storage; asked again after a failure it
/// continues from there and ends with the tree an uninterrupted run gives.</summary>
public sealed class TreeResumeTests
{
    static readonly TreeConfig Config = new() { Width = 4, Depth = 3, SegmentLength = 4, Branch = 2 };

    static TreeJob Job(ulong seed) => TreeJob.For(new QueryItem("q0", "question", "7", [1, 2, 3, 4, 5]), Config, seed);

    /// <summary>Fails the n-th segment request from the moment it is armed, once, with an error of the request (so
    /// the tree fails instead of failing over).</summary>
    sealed class Trap
    {
        int countdown = -1;
        public void Arm(int n) => Interlocked.Exchange(ref countdown, n);
        public bool Springs() => Interlocked.Decrement(ref countdown) == 0;
    }

    sealed class TrappedEngine(ScriptedEngine inner, Trap trap) : IEngineBackend
    {
        public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default) =>
            trap.Springs() ? throw new ArgumentException("trap: this request fails once") : inner.GenerateAsync(request, cancellationToken);
        public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default) => inner.ReleaseAsync(nodeIds, cancellationToken);
        public EngineCounters GetCounters() => inner.GetCounters();
        public int MaxSequenceLength => inner.MaxSequenceLength;
        public int PolicyVersion => inner.PolicyVersion;
        public Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default) => inner.LoadWeightsAsync(version, safetensors, cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    sealed class TrappedFactory(Trap trap) : IEngineBackendFactory
    {
        public Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken) =>
            Task.FromResult<IEngineBackend>(new TrappedEngine(new ScriptedEngine(), trap));
    }

    static async Task<InProcessTestCluster> StartAsync(Trap trap)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTreePO(new TreePOOptions());
            silo.Services.AddSingleton<IEngineBackendFactory>(new TrappedFactory(trap));
            silo.Services.AddSingleton(new TreeText(new LetterDecoder(), new HashSet<int> { ScriptedEngine.Eos }));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    static IEnumerable<(string, string)> Shape(string treeLine) =>
        TreeJson.Read(treeLine).Nodes.Select(n => (n.Id, string.Join(",", n.Tokens)));

    [Fact]
    public async Task A_tree_asked_again_after_a_failure_resumes_from_its_last_round_and_gives_the_same_tree()
    {
        var trap = new Trap();
        await using var cluster = await StartAsync(trap);
        var grain = cluster.Client.GetGrain<IQueryTreeGrain>("resume/q0");

        var whole = await grain.RunAsync(Job(7));
        Assert.Equal(TreeRecovery.FirstRun, whole.Recovery);

        trap.Arm(3);   // round 1 is one request (the first fork); the second request of round 2 fails
        await Assert.ThrowsAsync<ArgumentException>(() => grain.RunAsync(Job(7)));
        var resumed = await grain.RunAsync(Job(7));

        var r = Assert.IsType<TreeRecovery>(resumed.Recovery);
        Assert.Equal(2, r.Starts);
        Assert.False(r.FromScratch);
        int segments = TreeJson.Read(whole.TreeLine).Nodes.Count - 1;   // every node but the root
        Assert.InRange(r.ResumedSegments, Config.Branch, segments - 1);   // at least the first fork, not generated again
        Assert.InRange(r.RecomputedSegments, 1, segments - r.ResumedSegments);   // the round lost with the failure
        Assert.Equal(Shape(whole.TreeLine), Shape(resumed.TreeLine));
        Assert.True(resumed.Routing.Requests < whole.Routing.Requests, "the resumed run skips round 1");

        // Done: the snapshot is gone, so the next ask is a first run again.
        Assert.Equal(TreeRecovery.FirstRun, (await grain.RunAsync(Job(7))).Recovery);
    }

    [Fact]
    public async Task A_snapshot_of_another_job_is_never_resumed()
    {
        var trap = new Trap();
        await using var cluster = await StartAsync(trap);
        var grain = cluster.Client.GetGrain<IQueryTreeGrain>("resume/q1");
        trap.Arm(3);
        await Assert.ThrowsAsync<ArgumentException>(() => grain.RunAsync(Job(7)));

        var other = await grain.RunAsync(Job(8));   // same grain, another seed: a different tree
        Assert.Equal(TreeRecovery.FirstRun, other.Recovery);
        Assert.Equal(Shape((await cluster.Client.GetGrain<IQueryTreeGrain>("resume/q1").RunAsync(Job(8))).TreeLine), Shape(other.TreeLine));
    }

    [Fact]
    public async Task A_started_tree_is_polled_to_its_result_and_a_new_activation_says_not_started()
    {
        await using var cluster = await StartAsync(new Trap());
        var grain = cluster.Client.GetGrain<IQueryTreeGrain>("poll/q0");
        Assert.Equal(TreePollState.NotStarted, (await grain.PollAsync(TimeSpan.Zero)).State);

        await grain.StartAsync(Job(7));
        await grain.StartAsync(Job(7));   // idempotent while it runs
        TreePoll poll;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        do poll = await grain.PollAsync(TimeSpan.FromSeconds(1));
        while (poll.State != TreePollState.Done && DateTime.UtcNow < deadline);
        Assert.Equal(TreePollState.Done, poll.State);

        var direct = await cluster.Client.GetGrain<IQueryTreeGrain>("poll/q0").RunAsync(Job(7));
        Assert.Equal(Shape(direct.TreeLine), Shape(poll.Result!.TreeLine));
        Assert.Equal(direct.TreeLine, (await grain.PollAsync(TimeSpan.Zero)).Result!.TreeLine);   // a lost reply can be fetched again
    }
}
