using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// The NFC / NFD / NFKC / NFKD normalizer a tokenizer.json declares (Qwen's is NFC). This project runs with
/// <c>InvariantGlobalization</c>, where <see cref="string.Normalize(NormalizationForm)"/> returns its input
/// unchanged; so when that is the case the system's ICU library (libicuuc, which .NET itself uses outside invariant
/// mode) is called directly. Without either, creating the normalizer fails with the reason, rather than tokenizing
/// differently from Hugging Face.
/// </summary>
public sealed class UnicodeNormalizer : Normalizer
{
    readonly IntPtr _icu; // UNormalizer2*, or zero when string.Normalize works

    public UnicodeNormalizer(NormalizationForm form)
    {
        Form = form;
        if ("e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9")
            return;
        _icu = Icu.Instance(form);
    }

    public NormalizationForm Form { get; }

    public override string Normalize(string original)
    {
        if (string.IsNullOrEmpty(original))
            return string.Empty;
        if (_icu == IntPtr.Zero)
            return original.Normalize(Form);
        // ASCII is invariant under all four forms.
        return original.AsSpan().ContainsAnyExceptInRange('\0', '\x7f') ? Icu.Normalize(_icu, original) : original;
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    /// <summary>ICU's unorm2 C API, found the way .NET finds it: libicuuc.so.N with version-suffixed exports.</summary>
    static unsafe class Icu
    {
        static readonly Lazy<(IntPtr Lib, int Version)> Library = new(Find);

        public static IntPtr Instance(NormalizationForm form)
        {
            var (lib, version) = Library.Value;
            string name = form switch
            {
                NormalizationForm.FormC => "unorm2_getNFCInstance",
                NormalizationForm.FormD => "unorm2_getNFDInstance",
                NormalizationForm.FormKC => "unorm2_getNFKCInstance",
                _ => "unorm2_getNFKDInstance",
            };
            var get = (delegate* unmanaged<int*, IntPtr>)Export(lib, name, version);
            int status = 0;
            IntPtr instance = get(&status);
            if (status > 0 || instance == IntPtr.Zero)
                throw new InvalidOperationException($"ICU {name} failed with error {status}");
            return instance;
        }

        public static string Normalize(IntPtr instance, string text)
        {
            var (lib, version) = Library.Value;
            var normalize = (delegate* unmanaged<IntPtr, char*, int, char*, int, int*, int>)Export(lib, "unorm2_normalize", version);
            int capacity = text.Length * 3 + 16; // decomposition can grow text; retried below if not enough
            while (true)
            {
                var buffer = new char[capacity];
                int status = 0, length;
                fixed (char* src = text)
                fixed (char* dst = buffer)
                    length = normalize(instance, src, text.Length, dst, capacity, &status);
                if (status == 15) // U_BUFFER_OVERFLOW_ERROR
                {
                    capacity = length + 16;
                    continue;
                }
                if (status > 0)
                    throw new InvalidOperationException($"ICU unorm2_normalize failed with error {status}");
                return new string(buffer, 0, length);
            }
        }

        static IntPtr Export(IntPtr lib, string name, int version)
        {
            if (NativeLibrary.TryGetExport(lib, $"{name}_{version}", out IntPtr f) || NativeLibrary.TryGetExport(lib, name, out f))
                return f;
            throw new InvalidOperationException($"the ICU library has no {name}");
        }

        static (IntPtr, int) Find()
        {
            for (int v = 90; v >= 50; v--)
                if (NativeLibrary.TryLoad($"libicuuc.so.{v}", out IntPtr lib))
                    return (lib, v);
            throw new PlatformNotSupportedException(
                "Unicode normalization is needed by this tokenizer.json, but .NET runs in invariant globalization mode and no ICU library "
                + "(libicuuc.so.N) was found. Install ICU (Debian: apt-get install libicu72).");
        }
    }
}
