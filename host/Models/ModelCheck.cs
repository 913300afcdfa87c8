using TreePO.Engine.Checkpoint;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Models;

/// <summary>
/// A silo's model, read and checked before the silo joins the cluster: the folder resolves, the tokenizer and config
/// load and agree (<see cref="ModelText"/>), and every safetensors file's header parses and its tensors lie inside
/// the file (a torn or truncated download is caught). A silo with a wrong <c>Model:Path</c> then stops at start with
/// the path named, instead of joining and failing its share of trees. The check stays off libtorch: a silo loads it
/// when an engine activates (which checks every weight's name and shape against the config); loading it here made
/// the check take 30+ s on a heavily loaded machine and silo start/stop tests miss their limits. The
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
            foreach (string weights in Directory.EnumerateFiles(dir, "*.safetensors"))
                if (SafetensorsHeader.Read(weights).Count == 0)
                    throw new InvalidDataException($"{weights} holds no tensor");
        }
        catch (Exception e) when (e is not OutOfMemoryException)   // whatever the readers throw, the folder is named
        {
            throw new ModelFolderException($"model folder {dir} does not load: {e.Message}");
        }
        return new ModelIdentity(dir, ModelHash.Of(dir), clock.Elapsed);
    }
}

