using System.Runtime.CompilerServices;
using TreePO.Engine.Native;

namespace TreePO.Engine.Tests;

/// <summary>The engine tests on a GPU machine run on its libtorch (TREEPO_LIBTORCH, scripts/gpu-checks.sh): loaded
/// before any test touches TorchSharp, whichever runs first.</summary>
internal static class ExternalTorchInitializer
{
    [ModuleInitializer]
    internal static void Load() => ExternalTorch.LoadConfigured();
}
