using TreePO.Core.Protocol;

namespace TreePO.Bench.Common;

/// <summary>
/// Passes requests to an engine and counts what the paper's TokenPS counts: every prompt as the engine is handed it
/// (the full context once per branch, as vLLM receives each path repeated b times) plus every generated token.
/// </summary>
public sealed class CountingGenerator(ISegmentGenerator inner) : ISegmentGenerator
{
    long _calls, _paperTokens;

    public long Calls => Interlocked.Read(ref _calls);
    public long PaperTokens => Interlocked.Read(ref _paperTokens);

    public async Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        SegmentResult result = await inner.GenerateAsync(request, cancellationToken);
        long generated = result.Branches.Sum(b => (long)b.Tokens.Length);
        Interlocked.Increment(ref _calls);
        Interlocked.Add(ref _paperTokens, (long)request.Branches * request.Context.Length + generated);
        return result;
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default) =>
        inner.ReleaseAsync(nodeIds, cancellationToken);
}
