// Marks one symbol-version requirement of an ELF shared library as weak (VER_FLG_WEAK).
//
// TorchSharp 0.107.0's libLibTorchSharp.so requires GLIBCXX_3.4.32 only for an unused marker symbol
// (std::ios_base_library_init). Debian 12's libstdc++ stops at 3.4.30, so the loader refuses the whole library.
// A weak requirement only makes the loader warn. This file is compiled twice: into the MSBuild inline task that
// repairs build and publish outputs, and into TreePO.Engine (TREEPO_PATCHER_ONLY) for diagnostics and tests.
#nullable enable
using System;
using System.IO;
using System.Text;

namespace TreePO.Build
{
    public enum ElfPatchOutcome { Patched, AlreadyWeak, NoSuchRequirement }

    public static class ElfVersionPatch
    {
        public const string TorchSharpGlibcxx = "GLIBCXX_3.4.32";
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        /// <summary>Whether the library requires <paramref name="version"/>; null when it has no such requirement,
        /// otherwise true when that requirement is weak.</summary>
        public static bool? IsWeak(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            int at = FindVernaux(elf, version, path);
            if (at < 0) return null;
            return (BitConverter.ToUInt16(elf, at + 4) & VerFlgWeak) != 0;
        }

        /// <summary>Sets the weak flag on the requirement. Idempotent; writes through a temporary file so that a
        /// hard link into the NuGet cache is never modified.</summary>
        public static ElfPatchOutcome MarkWeak(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            int at = FindVernaux(elf, version, path);
            if (at < 0) return ElfPatchOutcome.NoSuchRequirement;
            ushort flags = BitConverter.ToUInt16(elf, at + 4);
            if ((flags & VerFlgWeak) != 0) return ElfPatchOutcome.AlreadyWeak;
            BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, at + 4);
            string tmp = path + ".treepo-tmp";
            File.WriteAllBytes(tmp, elf);
            File.Delete(path);
            File.Move(tmp, path);
            return ElfPatchOutcome.Patched;
        }

        /// <summary>Whether the system's libstdc++ already defines the version (then no repair is needed).</summary>
        public static bool SystemLibstdcxxProvides(string version, out string? libraryPath)
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (string c in candidates)
            {
                if (!File.Exists(c)) continue;
                libraryPath = c;
                return IndexOf(File.ReadAllBytes(c), needle) >= 0;
            }
            libraryPath = null;
            return false;
        }

        // Returns the file offset of the Vernaux entry naming `version`, or -1.
        static int FindVernaux(byte[] elf, string version, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{path}: not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{path}: only 64-bit little-endian ELF is supported");
            long shoff = BitConverter.ToInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            for (int i = 0; i < shnum; i++)
            {
                int sh = checked((int)(shoff + (long)i * shentsize));
                if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
                int secOff = checked((int)BitConverter.ToInt64(elf, sh + 0x18));
                int link = (int)BitConverter.ToUInt32(elf, sh + 0x28);
                int count = (int)BitConverter.ToUInt32(elf, sh + 0x2C);
                int strSh = checked((int)(shoff + (long)link * shentsize));
                int strOff = checked((int)BitConverter.ToInt64(elf, strSh + 0x18));
                int vn = secOff;
                for (int n = 0; n < count; n++)
                {
                    int cnt = BitConverter.ToUInt16(elf, vn + 2);
                    int aux = vn + (int)BitConverter.ToUInt32(elf, vn + 8);
                    for (int a = 0; a < cnt; a++)
                    {
                        int name = strOff + (int)BitConverter.ToUInt32(elf, aux + 8);
                        if (CStringEquals(elf, name, version)) return aux;
                        aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                    }
                    int next = (int)BitConverter.ToUInt32(elf, vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            return -1;
        }

        static bool CStringEquals(byte[] b, int at, string s)
        {
            for (int i = 0; i < s.Length; i++)
                if (at + i >= b.Length || b[at + i] != (byte)s[i]) return false;
            return at + s.Length < b.Length && b[at + s.Length] == 0;
        }

        static int IndexOf(byte[] hay, byte[] needle)
        {
            // Plain loop: the MSBuild inline task compiles against netstandard2.0 (no span search there).
            for (int i = 0; i + needle.Length <= hay.Length; i++)
            {
                if (hay[i] != needle[0]) continue;
                int j = 1;
                while (j < needle.Length && hay[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }
    }
}

#if !TREEPO_PATCHER_ONLY
namespace TreePO.Build
{
    /// <summary>MSBuild task: repairs every given copy of libLibTorchSharp.so unless the system needs no repair.</summary>
    public sealed class RepairTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        public override bool Execute()
        {
            if (ElfVersionPatch.SystemLibstdcxxProvides(ElfVersionPatch.TorchSharpGlibcxx, out string? lib))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                    $"TreePO: {lib} provides {ElfVersionPatch.TorchSharpGlibcxx}; no native repair needed.");
                return true;
            }
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                var outcome = ElfVersionPatch.MarkWeak(path, ElfVersionPatch.TorchSharpGlibcxx);
                if (outcome == ElfPatchOutcome.Patched)
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                        $"TreePO: marked {ElfVersionPatch.TorchSharpGlibcxx} weak in {path}");
            }
            return true;
        }
    }
}
#endif
