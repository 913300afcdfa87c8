using Orleans.Runtime;
using TreePO.Core.Protocol;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Routing;

namespace TreePO.Grains.Tests.Support;

[GenerateSerializer, Immutable, Alias("test.probe-job")]
public sealed record ProbeJob(
    [property: Id(0)] int[] Prompt,
    [property: Id(1)] int Branches,
    [property: Id(2)] int Depth,
    [property: Id(3)] int SegmentLength,
    [property: Id(4)] ulong Seed);

[GenerateSerializer, Immutable, Alias("test.probe-result")]
public sealed record ProbeResult(
    [property: Id(0)] string Silo,
    [property: Id(1)] int[][] Paths,
    [property: Id(2)] RoutingStats Routing,
    [property: Id(3)] int LiveNodesAfter);

/// <summary>A small tree driver over <see cref="RoutedSegmentGenerator"/>: the root forks <see cref="ProbeJob.Branches"/>
/// paths, each path then grows one segment at a time (all paths concurrently) to the depth or EOS.</summary>
[Alias("test.probe")]
public interface IChainProbeGrain : IGrainWithStringKey
{
    [Alias("run"), ResponseTimeout("00:02:00")]
    Task<ProbeResult> RunAsync(ProbeJob job);
}

public sealed class ChainProbeGrain(EngineRouter router, ILocalSiloDetails local) : Grain, IChainProbeGrain
{
    public async Task<ProbeResult> RunAsync(ProbeJob job)
    {
        string tree = this.GetPrimaryKeyString();
        var gen = new RoutedSegmentGenerator(router, GrainFactory, tree);
        var sampling = SamplingParams.Default;
        string[] roots = [.. Enumerable.Range(0, job.Branches).Select(i => $"{tree}/0.{i}")];
        var first = await gen.GenerateAsync(new SegmentRequest(tree, $"{tree}/prompt", 0, job.Prompt, roots,
            job.SegmentLength, sampling, SeedMix.Derive(job.Seed, "root")));
        var paths = await Task.WhenAll(first.Branches.Select((b, i) => GrowAsync(gen, tree, job, i, b, sampling)));
        await gen.CloseAsync();
        return new ProbeResult(SiloKey.For(local.SiloAddress), paths, gen.Stats, gen.LiveNodes);
    }

    static async Task<int[]> GrowAsync(RoutedSegmentGenerator gen, string tree, ProbeJob job, int path, SegmentBranch b, SamplingParams sampling)
    {
        var context = job.Prompt.Concat(b.Tokens).ToList();
        for (int depth = 1; depth < job.Depth && b.Finish != SegmentFinish.Eos; depth++)
        {
            string child = $"{tree}/{depth}.{path}";
            var r = await gen.GenerateAsync(new SegmentRequest(tree, b.NodeId, context.Count, [.. context], [child],
                job.SegmentLength, sampling, SeedMix.Derive(job.Seed, path, depth)));
            await gen.ReleaseAsync([b.NodeId]);
            b = r.Branches[0];
            context.AddRange(b.Tokens);
        }
        return [.. context.Skip(job.Prompt.Length)];
    }
}
