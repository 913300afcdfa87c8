using Microsoft.ML.Tokenizers;
using TreePO.Core.Trees;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (Qwen2 / Qwen2.5 / Qwen3 and the built-in model) read from
/// <c>tokenizer.json</c>, running on Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>. Added tokens are cut out
/// first (so special-token text in the input becomes that token, as in HF); the rest is normalized, split by the
/// file's regex and merged. Thread-safe: encode and decode hold no per-call state.
/// </summary>
public sealed class HfTokenizer : ITextDecoder
{
    readonly BpeTokenizer _bpe;
    readonly AddedTokenSplitter _splitter;
    readonly HashSet<int> _specialIds;
    readonly Dictionary<string, int> _addedByContent;
    readonly Dictionary<int, string> _tokenById;

    HfTokenizer(TokenizerSpec spec)
    {
        Spec = spec;
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in spec.AddedTokens)
            _addedByContent[t.Content] = t.Id;
        _specialIds = spec.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        _tokenById = spec.Vocab.ToDictionary(kv => kv.Value, kv => kv.Key);
        foreach (var t in spec.AddedTokens)
            _tokenById[t.Id] = t.Content;
        _splitter = new AddedTokenSplitter(spec.AddedTokens);
        VocabSize = _tokenById.Keys.Max() + 1;
        _bpe = BpeTokenizer.Create(new BpeOptions(spec.Vocab)
        {
            Merges = spec.Merges.Select(m => $"{m.Left} {m.Right}"),
            ByteLevel = true,
            PreTokenizer = new SplitPreTokenizer(spec.SplitPattern),
            Normalizer = spec.Normalization is { } form ? new UnicodeNormalizer(form) : null,
            // Only used by Decode, to write an added token's text; Encode has cut them out already.
            SpecialTokens = _addedByContent,
        });
    }

    /// <summary>The parsed tokenizer.json this tokenizer was built from.</summary>
    public TokenizerSpec Spec { get; }

    /// <summary>Ids that end a generation: config.json and generation_config.json <c>eos_token_id</c> and tokenizer_config.json <c>eos_token</c>.</summary>
    public IReadOnlySet<int> EosIds { get; private set; } = new HashSet<int>();

    /// <summary>One more than the largest id of the vocabulary and the added tokens (151,669 for Qwen3).</summary>
    public int VocabSize { get; }

    /// <summary>tokenizer_config.json's <c>pad_token</c>, if it names one.</summary>
    public int? PadId { get; private set; }

    public IReadOnlyList<AddedToken> AddedTokens => Spec.AddedTokens;

    /// <summary>Reads <c>tokenizer.json</c>, and where present tokenizer_config.json, generation_config.json and config.json, from a model folder.</summary>
    public static HfTokenizer Load(string modelDir)
    {
        string path = Path.Combine(modelDir, "tokenizer.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{modelDir}: no tokenizer.json in this folder", path);
        var tokenizer = new HfTokenizer(TokenizerSpec.Read(path));

        string configPath = Path.Combine(modelDir, "tokenizer_config.json");
        var eos = new HashSet<int>();
        foreach (string file in new[] { "generation_config.json", "config.json" })
        {
            string p = Path.Combine(modelDir, file);
            foreach (int id in ModelFiles.EosTokenIds(p))
                eos.Add(id < tokenizer.VocabSize && tokenizer._tokenById.ContainsKey(id)
                    ? id
                    : throw new InvalidDataException($"{p}: field 'eos_token_id': id {id} is not a token of {path}"));
        }
        if (ModelFiles.TokenName(configPath, "eos_token") is { } eosName)
            eos.Add(tokenizer.NamedId(eosName, configPath, "eos_token"));
        tokenizer.EosIds = eos;
        tokenizer.PadId = ModelFiles.TokenName(configPath, "pad_token") is { } padName ? tokenizer.NamedId(padName, configPath, "pad_token") : null;
        return tokenizer;
    }

    /// <summary>A tokenizer from an in-memory spec (the trainer's output, tests), with the given EOS and pad ids.</summary>
    public static HfTokenizer FromSpec(TokenizerSpec spec, IEnumerable<int>? eosIds = null, int? padId = null) =>
        new(spec) { EosIds = (eosIds ?? []).ToHashSet(), PadId = padId };

    /// <summary>Token ids of <paramref name="text"/>, adding no BOS/EOS; added-token text inside it is that token.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (offset, length, token) in _splitter.Split(text))
        {
            if (token is not null)
                ids.Add(token.Id);
            else
                ids.AddRange(_bpe.EncodeToIds(text.AsSpan(offset, length)));
        }
        return ids.ToArray();
    }

    /// <summary>The text of <paramref name="ids"/>, added tokens included. Invalid UTF-8 becomes U+FFFD; ids with no token are skipped (as HF does).</summary>
    public string Decode(IReadOnlyList<int> ids) => Decode(ids, skipSpecial: false);

    /// <summary>As <see cref="Decode(IReadOnlyList{int})"/>; with <paramref name="skipSpecial"/> the added tokens marked special are left out.</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecial)
    {
        ArgumentNullException.ThrowIfNull(ids);
        IEnumerable<int> kept = skipSpecial ? ids.Where(id => !_specialIds.Contains(id)) : ids;
        return _bpe.Decode(kept, considerSpecialTokens: true);
    }

    /// <summary>The id of a vocabulary string (byte-level form, e.g. "Ġthe") or added token, or null.</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int id) || Spec.Vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>The vocabulary string or added-token text of an id, or null.</summary>
    public string? IdToToken(int id) => _tokenById.TryGetValue(id, out var s) ? s : null;

    int NamedId(string name, string file, string field) =>
        TokenToId(name) ?? throw new InvalidDataException($"{file}: field '{field}': '{name}' is not a token of the tokenizer");
}
