namespace TreePO.Engine.Tokenizer;

/// <summary>
/// GPT-2's byte-to-character map used by byte-level BPE vocabularies: printable bytes stand for themselves, the
/// others (controls, space, 0x7F-0xA0, 0xAD) are shifted to U+0100 and up, so that space is 'Ġ' and '\n' is 'Ċ'.
/// </summary>
public static class ByteLevelAlphabet
{
    static readonly char[] ByteToChar = Build();

    /// <summary>The vocabulary character that stands for <paramref name="b"/>.</summary>
    public static char Of(byte b) => ByteToChar[b];

    /// <summary>The vocabulary string of a run of UTF-8 bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
            chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    static char[] Build()
    {
        var map = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return map;
    }
}
