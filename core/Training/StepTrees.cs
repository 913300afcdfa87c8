using TreePO.Core.Trees;

namespace TreePO.Core.Training;

/// <summary>
/// runs/NAME/trees/step-N.jsonl (<c>train --save-trees</c>): the trees step N trained on, in trees.jsonl form, with
/// the rewards they were scored with and the advantages the trainer computed for the update (docs/trees-format.md).
/// Written by the run grain, which holds the trees already; the trainer sends back only the advantages.
/// </summary>
public static class StepTrees
{
    public const string Folder = "trees";

    public static string PathOf(string runDir, int step) => Path.Combine(runDir, Folder, $"step-{step}.jsonl");

    /// <summary>Puts the advantages the update reported (<paramref name="rawAdvantages"/> before and
    /// <paramref name="advantages"/> after batch normalisation, trajectory order within tree order; with the segment
    /// estimator <paramref name="segmentAdvantages"/>, each trajectory's node values one after another) into
    /// <paramref name="trees"/>, the batch the update was given.</summary>
    public static void Apply(IReadOnlyList<SegmentTree> trees, double[]? rawAdvantages, double[]? advantages, double[]? segmentAdvantages = null)
    {
        var trajectories = trees.SelectMany(t => t.Trajectories).ToList();
        if (rawAdvantages is not { } raw || advantages is not { } final
            || raw.Length != trajectories.Count || final.Length != trajectories.Count)
            throw new InvalidOperationException(
                $"the trainer reported {rawAdvantages?.Length ?? 0} raw and {advantages?.Length ?? 0} normalised advantages " +
                $"for a batch of {trajectories.Count} trajectories");
        int nodes = trajectories.Sum(t => t.Path.Count - 1);
        if (segmentAdvantages is not null && segmentAdvantages.Length != nodes)
            throw new InvalidOperationException(
                $"the trainer reported {segmentAdvantages.Length} segment advantages for a batch of {nodes} response nodes");
        int at = 0;
        for (int i = 0; i < trajectories.Count; i++)
        {
            trajectories[i].RawAdvantage = raw[i];
            trajectories[i].Advantage = final[i];
            int n = trajectories[i].Path.Count - 1;
            trajectories[i].SegmentAdvantages = segmentAdvantages?[at..(at + n)];
            at += n;
        }
    }

    /// <summary>The segment estimator's values of <paramref name="trees"/>' trajectories, each trajectory's response nodes
    /// one after another in trajectory order within tree order (what <see cref="Apply"/> takes back); null when no
    /// trajectory has them (the other estimators).</summary>
    public static double[]? SegmentAdvantagesOf(IReadOnlyList<SegmentTree> trees)
    {
        var trajectories = trees.SelectMany(t => t.Trajectories).ToList();
        return trajectories.Any(t => t.SegmentAdvantages is not null) ? [.. trajectories.SelectMany(t => t.SegmentAdvantages ?? [])] : null;
    }

    /// <summary>Writes the step's file whole (a step that trained on nothing gets an empty file); a resumed run
    /// replaces the files of the steps it redoes.</summary>
    public static async Task<string> WriteAsync(string runDir, int step, IReadOnlyList<SegmentTree> trees, CancellationToken ct = default)
    {
        string path = PathOf(runDir, step), partial = path + ".partial";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var writer = new StreamWriter(partial))
            await TreeJson.WriteAllAsync(writer, trees, ct);
        File.Move(partial, path, overwrite: true);   // a reader never sees half a step
        return path;
    }
}
