using TreePO.Build;
using TreePO.Testing;

namespace TreePO.Engine.Tests.Native;

public sealed class NativeRepairTests
{
    static string UnpatchedCopy()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "fixtures", "unpatched-libLibTorchSharp.bin");
        Assert.True(File.Exists(source), $"fixture missing: {source}");
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-elf-").FullName;
        string copy = Path.Combine(dir, "libLibTorchSharp.so");
        File.Copy(source, copy);
        return copy;
    }

    [Fact]
    public void Unpatched_library_requires_the_version_strongly()
    {
        string lib = UnpatchedCopy();
        Assert.Equal(false, ElfVersionPatch.IsWeak(lib, ElfVersionPatch.TorchSharpGlibcxx));
        // The next-highest requirement is a real one and must stay strong.
        Assert.Equal(false, ElfVersionPatch.IsWeak(lib, "GLIBCXX_3.4.30"));
    }

    [Fact]
    public void Repair_marks_only_that_requirement_weak_and_is_idempotent()
    {
        string lib = UnpatchedCopy();
        byte[] before = File.ReadAllBytes(lib);

        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionPatch.MarkWeak(lib, ElfVersionPatch.TorchSharpGlibcxx));
        byte[] after = File.ReadAllBytes(lib);
        Assert.Equal(true, ElfVersionPatch.IsWeak(lib, ElfVersionPatch.TorchSharpGlibcxx));
        Assert.Equal(false, ElfVersionPatch.IsWeak(lib, "GLIBCXX_3.4.30"));
        Assert.Equal(before.Length, after.Length);
        int changed = Enumerable.Range(0, before.Length).Count(i => before[i] != after[i]);
        Assert.Equal(1, changed); // one byte: the low byte of vna_flags

        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionPatch.MarkWeak(lib, ElfVersionPatch.TorchSharpGlibcxx));
        Assert.Equal(after, File.ReadAllBytes(lib));
    }

    [Fact]
    public void Absent_requirement_is_reported_not_invented()
    {
        string lib = UnpatchedCopy();
        Assert.Null(ElfVersionPatch.IsWeak(lib, "GLIBCXX_9.9.99"));
        Assert.Equal(ElfPatchOutcome.NoSuchRequirement, ElfVersionPatch.MarkWeak(lib, "GLIBCXX_9.9.99"));
    }

    [Fact]
    public void Not_an_elf_file_is_a_clear_error()
    {
        using var folder = new TempFolder("treepo-elf-");
        string path = Path.Combine(folder, "not-a-library.so");
        File.WriteAllText(path, "not a library");
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionPatch.IsWeak(path, "X"));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void The_test_output_itself_was_repaired_by_the_build()
    {
        var status = TreePO.Engine.Native.TorchRuntime.Inspect();
        Assert.NotNull(status.LibraryPath);
        Assert.True(status.Loadable, status.Describe());
    }
}
