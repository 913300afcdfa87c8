using TreePO.Core.Tasks;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

public sealed class ByteLevelBpeTrainerTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-bpe-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static List<string> ArithmeticCorpus(int n)
    {
        var task = new ArithmeticTask(seed: 5);
        return Enumerable.Range(0, n).Select(i => task.Generate(TaskSplit.Train, i))
            .Select(p => ChatFormat.PromptText(p.Question) + p.Solution + ChatFormat.ImEnd).ToList();
    }

    [Fact]
    public void Learns_the_merges_computed_by_hand()
    {
        // Words: "hug" x1, " hug" x2, " pug", " pun", " bun" (space is 'Ġ', id 32; ids of bytes = byte values).
        // Pair counts: u+g 4 (3 hug + pug) -> merge 1; then h+ug 3 -> merge 2; then Ġ+hug, Ġ+p, u+n tie at 2 and the
        // smaller (left id, right id) wins: (32 'Ġ', 112 'p') before (32, 257 'hug') before (117 'u', 110 'n').
        // After that every pair occurs once, below the minimum frequency of 2.
        var spec = ByteLevelBpeTrainer.Train(["hug hug hug pug pun bun"], maxMerges: 100);
        Assert.Equal([("u", "g"), ("h", "ug"), ("Ġ", "p"), ("Ġ", "hug"), ("u", "n")], spec.Merges);
        Assert.Equal(256, spec.Vocab["ug"]);
        Assert.Equal(260, spec.Vocab["un"]);
        Assert.Equal([("<|endoftext|>", 261), ("<|im_start|>", 262), ("<|im_end|>", 263)], spec.AddedTokens.Select(t => (t.Content, t.Id)));
        var tok = HfTokenizer.FromSpec(spec);
        Assert.Equal([257, 259, 258, 256, 32, 'b', 260], tok.Encode("hug hug pug bun"));
    }

    [Fact]
    public void Same_corpus_gives_the_same_files()
    {
        var corpus = ArithmeticCorpus(300);
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        ByteLevelBpeTrainer.Save(ByteLevelBpeTrainer.Train(corpus, 300), a);
        ByteLevelBpeTrainer.Save(ByteLevelBpeTrainer.Train(corpus, 300), b);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "tokenizer.json")), File.ReadAllBytes(Path.Combine(b, "tokenizer.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "tokenizer_config.json")), File.ReadAllBytes(Path.Combine(b, "tokenizer_config.json")));
    }

    [Fact]
    public void Saved_tokenizer_loads_back_and_round_trips_seen_and_unseen_text()
    {
        var corpus = ArithmeticCorpus(1000);
        var spec = ByteLevelBpeTrainer.Train(corpus, maxMerges: 700);
        ByteLevelBpeTrainer.Save(spec, _dir);
        var tok = HfTokenizer.Load(_dir);

        Assert.InRange(tok.VocabSize, 300, 1000);
        Assert.Equal(spec.Vocab.Count + 3, tok.VocabSize);
        Assert.Equal(tok.TokenToId("<|endoftext|>"), tok.PadId);
        Assert.Equal(new HashSet<int> { tok.TokenToId("<|im_end|>")!.Value }, tok.EosIds);
        var chat = new ChatFormat(tok);
        var inMemory = HfTokenizer.FromSpec(spec);
        foreach (string text in corpus.Take(200))
        {
            int[] ids = tok.Encode(text);
            Assert.Equal(text, tok.Decode(ids));
            Assert.Equal(inMemory.Encode(text), ids);
        }
        // Frequent words became single tokens; digits stay single (the Qwen split regex).
        Assert.NotNull(tok.TokenToId("Ġapples"));
        Assert.Equal([chat.ImStartId], tok.Encode("<|im_start|>"));
        Assert.Equal(['1', '2', '3'], tok.Encode("123"));
        foreach (string unseen in new[] { "Zyx quokka 你好 😀 Ünïcödé\t\r\n  ", "def f(x):\n    return x ** 2\n", "" })
            Assert.Equal(unseen, tok.Decode(tok.Encode(unseen)));
        // A corpus sequence stays well inside the tiny model's context.
        Assert.True(corpus.Max(t => tok.Encode(t).Length) < 160);
    }

    [Fact]
    public void Special_token_text_in_the_corpus_is_not_learned()
    {
        var spec = ByteLevelBpeTrainer.Train(Enumerable.Repeat("<|im_end|><|im_end|>", 50), maxMerges: 50);
        Assert.Empty(spec.Merges);
    }
}
