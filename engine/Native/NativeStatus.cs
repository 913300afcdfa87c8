namespace TreePO.Engine.Native;

/// <summary>What the process can tell about TorchSharp's native library and the GLIBCXX repair.</summary>
/// <param name="LibraryPath">The libLibTorchSharp.so this process would load, if found.</param>
/// <param name="Requires">Whether that library names the GLIBCXX version at all.</param>
/// <param name="Weak">Whether that requirement is marked weak (the repair applied).</param>
/// <param name="SystemProvides">Whether the system libstdc++ defines the version (no repair needed).</param>
public sealed record NativeStatus(string? LibraryPath, bool Requires, bool Weak, bool SystemProvides, string? SystemLibrary)
{
    public bool RepairNeeded => Requires && !SystemProvides;
    public bool Loadable => !RepairNeeded || Weak;

    public string Describe()
    {
        if (LibraryPath is null) return "libLibTorchSharp.so not found beside the application";
        if (!Requires) return $"{LibraryPath} does not require {TreePO.Build.ElfVersionPatch.TorchSharpGlibcxx}";
        if (SystemProvides) return $"not needed: {SystemLibrary} provides {TreePO.Build.ElfVersionPatch.TorchSharpGlibcxx}";
        return Weak
            ? $"needed and applied: {TreePO.Build.ElfVersionPatch.TorchSharpGlibcxx} is weak in {LibraryPath}"
            : $"needed and NOT applied: {LibraryPath} still requires {TreePO.Build.ElfVersionPatch.TorchSharpGlibcxx}";
    }
}
