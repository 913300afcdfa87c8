using TreePO.Engine.Model;
using static TorchSharp.torch;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Engine;

/// <summary>The KV cache's allocation respects <see cref="EngineOptions.KvBudgetBytes"/>: where memory is real from the
/// start (a GPU), the engine allocates only the full-length slots the budget holds, serves with them, and says so when the
/// budget holds none; on a CPU it allocates every slot and commits rows as they fill, within the same budget.</summary>
public sealed class KvBudgetSlotsTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    static readonly long PerToken = Qwen2Config.Tiny().KvBytesPerToken(ScalarType.Float32);

    [Fact]
    public async Task A_budget_for_three_full_slots_gets_three_slots_and_serves_with_them()
    {
        // Three slots of 64 rows and a little more: the allocation rounds down.
        await using var engine = Start(budget: 3 * 64 * PerToken + 10 * PerToken, slots: 8, maxSequenceLength: 64, lazyKv: false);
        Assert.Equal(3, engine.Slots);
        Assert.Equal(3, engine.GetStats().Slots);

        var result = await engine.GenerateAsync(Request(TestModels.RandomTokens(12, 5), branches: 3, maxTokens: 6)).WaitAsync(Timeout);
        Assert.All(result.Branches, b => Assert.Equal(6, b.Tokens.Length));

        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => engine.GenerateAsync(Request(TestModels.RandomTokens(12, 6), branches: 4)));
        Assert.Contains("4 branches; this engine has only 3 slots", e.Message);
        Assert.Contains("EngineOptions.KvBudgetBytes", e.Message);
    }

    [Fact]
    public async Task On_a_CPU_a_budget_for_three_full_slots_serves_six_short_sequences_at_once()
    {
        // Memory committed as rows fill: all 8 slots exist, and six 18-row sequences (108 rows) fit a budget of 202.
        await using var engine = Start(budget: 3 * 64 * PerToken + 10 * PerToken, slots: 8, maxSequenceLength: 64, lazyKv: true);
        Assert.Equal(8, engine.Slots);
        var result = await engine.GenerateAsync(Request(TestModels.RandomTokens(12, 5), branches: 6, maxTokens: 6)).WaitAsync(Timeout);
        Assert.All(result.Branches, b => Assert.Equal(6, b.Tokens.Length));
        Assert.Equal(6, engine.GetStats().MaxBatchSize);
        float[] expected = ReferenceLogProbs(TinyDir, TestModels.RandomTokens(12, 5), result.Branches[5].Tokens);
        for (int t = 0; t < expected.Length; t++) Assert.True(Math.Abs(expected[t] - result.Branches[5].LogProbs[t]) <= 1e-4f, $"token {t}");
    }

    [Fact]
    public async Task A_budget_for_more_than_MaxSlots_allocates_MaxSlots()
    {
        await using var engine = Start(budget: 64L << 20, slots: 5);
        Assert.Equal(5, engine.Slots);
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => engine.GenerateAsync(Request([1, 2, 3], branches: 6)));
        Assert.Contains("only 5 slots (EngineOptions.MaxSlots)", e.Message);
    }

    [Fact]
    public void A_budget_short_of_one_full_slot_fails_at_load_with_what_it_needs()
    {
        long needed = 64 * PerToken;
        var e = Assert.Throws<ArgumentException>(() => Start(budget: needed - 1, slots: 8, maxSequenceLength: 64));
        Assert.Contains($"EngineOptions.KvBudgetBytes = {needed - 1}", e.Message);
        Assert.Contains("EngineOptions.MaxSequenceLength = 64", e.Message);
        Assert.Contains($"needs 64 x {PerToken} = {needed} bytes", e.Message);
        Assert.Contains("lower MaxSequenceLength or raise KvBudgetBytes", e.Message);
    }

    /// <summary>The built-in model (models/builtin: 2 KB of K/V a token, 256 positions) keeps every slot under the
    /// defaults of train/eval (256 slots, 512 MB) and of a silo (64, 1024 MB); Qwen2.5-0.5B's shapes at 4096 positions
    /// (24 KB a token) fit 10 slots in 1 GB, twice as many in bf16.</summary>
    [Fact]
    public void The_defaults_keep_every_slot_of_the_built_in_model()
    {
        var builtin = Qwen2Config.Load(BuiltInConfig());
        long perToken = builtin.KvBytesPerToken(ScalarType.Float32);
        Assert.Equal(2048, perToken);
        int length = new EngineOptions().MaxSequenceLengthFor(builtin);
        Assert.Equal(256, new EngineOptions { MaxSlots = 256, KvBudgetBytes = 512L << 20 }.SlotsFor(length, perToken));
        Assert.Equal(64, new EngineOptions { MaxSlots = 64, KvBudgetBytes = 1024L << 20 }.SlotsFor(length, perToken));

        var qwen = Qwen2Config.Qwen25_0_5B;
        int qwenLength = new EngineOptions().MaxSequenceLengthFor(qwen);
        Assert.Equal(4096, qwenLength);
        var gpu = new EngineOptions { MaxSlots = 64, KvBudgetBytes = 1024L << 20 };
        Assert.Equal(10, gpu.SlotsFor(qwenLength, qwen.KvBytesPerToken(ScalarType.Float32)));
        Assert.Equal(21, gpu.SlotsFor(qwenLength, qwen.KvBytesPerToken(ScalarType.BFloat16)));
        // On a CPU every slot: the budget bounds the rows in use, not slots at full length.
        Assert.Equal(64, gpu.SlotsFor(qwenLength, qwen.KvBytesPerToken(ScalarType.Float32), lazyMemory: true));
    }

    static string BuiltInConfig()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "models", "builtin", "config.json");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("models/builtin/config.json above " + AppContext.BaseDirectory);
    }
}
