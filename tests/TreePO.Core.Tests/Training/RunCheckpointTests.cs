using TreePO.Core.Training;

namespace TreePO.Core.Tests.Training;

/// <summary>Checkpoints are renamed into place whole, and a resume passes over a torn or damaged latest one.</summary>
public sealed class RunCheckpointTests : IDisposable
{
    readonly string runDir = TreePO.Testing.ScratchFolders.Create("treepo-ckpt-").FullName;
    readonly string modelDir;

    public RunCheckpointTests()
    {
        modelDir = Path.Combine(runDir, "model");
        Directory.CreateDirectory(modelDir);
        File.WriteAllText(Path.Combine(modelDir, "tokenizer.json"), "{}");
    }

    public void Dispose() => Directory.Delete(runDir, recursive: true);

    static RunState State(int step) => new(step, step, step * 10, 7, 0, 1.5, [], []);

    Task<string> Write(FakeTrainer trainer, RunState state) => RunCheckpoint.WriteAsync(runDir, modelDir, state, trainer.SaveCheckpointAsync);

    string Step(int k) => Path.Combine(runDir, "checkpoints", $"step-{k}");

    [Fact]
    public async Task A_checkpoint_appears_whole_or_not_at_all()
    {
        var trainer = new FakeTrainer();
        string one = await Write(trainer, State(1));
        Assert.Equal(Step(1), one);
        foreach (string f in new[] { "config.json", "model.safetensors", "tokenizer.json", RunState.FileName })
            Assert.True(File.Exists(Path.Combine(one, f)), f);

        // The save of step 2 dies half way (the silo crashed while the trainer wrote): no step-2 folder appears.
        trainer.FailAfterConfig = true;
        await Assert.ThrowsAsync<IOException>(() => Write(trainer, State(2)));
        Assert.False(Directory.Exists(Step(2)));
        Assert.Equal(Step(1), RunState.Latest(runDir));

        // Writing step 1 again and failing leaves the old step 1 as it was.
        await Assert.ThrowsAsync<IOException>(() => Write(trainer, State(1)));
        Assert.Equal(1, RunState.Load(Step(1)).Step);
        Assert.True(File.Exists(Path.Combine(Step(1), "model.safetensors")));

        // The next good write clears the leftover temporary folder of the failed one.
        trainer.FailAfterConfig = false;
        Assert.Equal(Step(2), await Write(trainer, State(2)));
        Assert.Equal(2, RunState.LatestWithState(runDir)!.Value.State.Step);
        Assert.Equal(["step-1", "step-2"], Directory.GetDirectories(Path.Combine(runDir, "checkpoints"))
            .Select(d => Path.GetFileName(d)!).Order().ToArray());
    }

    [Fact]
    public async Task Resume_skips_a_torn_latest_checkpoint_with_a_warning_and_uses_the_previous_one()
    {
        var trainer = new FakeTrainer();
        await Write(trainer, State(1));
        await Write(trainer, State(2));
        await Write(trainer, State(3));
        // step-3: its state file cut mid-write (a crash of an older writer, or a disk that lost the tail).
        string state3 = Path.Combine(Step(3), RunState.FileName);
        File.WriteAllText(state3, File.ReadAllText(state3)[..20]);
        // step-2: its weights gone.
        File.Delete(Path.Combine(Step(2), "model.safetensors"));

        var warnings = new List<string>();
        var latest = RunState.LatestWithState(runDir, warnings.Add);
        Assert.NotNull(latest);
        Assert.Equal(Step(1), latest.Value.Dir);
        Assert.Equal(1, latest.Value.State.Step);
        Assert.Equal(10, latest.Value.State.DataCursor);
        Assert.Equal(2, warnings.Count);
        Assert.Contains("step-3", warnings[0]);
        Assert.Contains(RunState.FileName, warnings[0]);
        Assert.Contains("step-2", warnings[1]);
        Assert.Contains("weights", warnings[1]);

        // Nothing usable at all: no checkpoint, and every folder named.
        File.Delete(Path.Combine(Step(1), "config.json"));
        warnings.Clear();
        Assert.Null(RunState.Latest(runDir, warnings.Add));
        Assert.Equal(3, warnings.Count);
    }

    /// <summary>Writes what a trainer's save writes (config, weights, optimiser), or dies after the config.</summary>
    sealed class FakeTrainer
    {
        public bool FailAfterConfig;

        public Task SaveCheckpointAsync(string dir)
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
            if (FailAfterConfig) throw new IOException("disk full");
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), [1, 2, 3]);
            File.WriteAllBytes(Path.Combine(dir, "optimizer.bin"), [4]);
            return Task.CompletedTask;
        }
    }
}
