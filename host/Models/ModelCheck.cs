using TorchSharp;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Native;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Models;

/// <summary>
/// A silo's model, loaded and checked before the silo joins the cluster: the folder resolves, the tokenizer and
/// config agree (<see cref="ModelText"/>), and every weight loads into the model on the CPU. A silo with a wrong
/// <c>Model:Path</c> then stops at start with the path named, instead of joining and failing its share of trees. The
/// <see cref="ModelIdentity.Hash"/> it computes (weights + tokenizer + config) is published as silo metadata, so
/// silos serving another model are told apart (<see cref="TreePO.Grains.Routing.EngineDirectory"/>).
/// </summary>
public static class ModelCheck
{
    public static ModelIdentity Run(TreePOOptions options)
    {
        string dir = ModelFolder.Resolve(options.Model.Path);   // ModelFolderException names the folder
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            ModelText.Load(dir, options);
            TorchRuntime.EnsureLoaded();
            using (var scope = torch.NewDisposeScope())
                Qwen2Checkpoint.Load(dir, torch.CPU).Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)   // whatever the loader throws, the folder is named
        {
            throw new ModelFolderException($"model folder {dir} does not load: {e.Message}");
        }
        return new ModelIdentity(dir, ModelHash.Of(dir), clock.Elapsed);
    }
}

/// <summary>The model a silo checked at start: its folder, content hash (<see cref="ModelHash"/>) and how long
/// the check took.</summary>
public sealed record ModelIdentity(string Folder, string Hash, TimeSpan CheckTime)
{
    /// <summary>The first 12 hex digits: enough to tell models apart in a log line.</summary>
    public string ShortHash => Hash[..12];
}
