using TreePO.Engine.Native;
using TreePO.Engine.Training;

namespace TreePO.Engine.Tests.Training;

public sealed class RunLogTests
{
    public RunLogTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Steps_go_to_jsonl_and_tensorboard_and_truncate_for_resume()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-runlog-").FullName;
        var log = new RunLog(dir);
        for (int step = 1; step <= 3; step++)
            log.Write(step, new Dictionary<string, object?> { ["reward"] = 0.1 * step, ["phase"] = "train", ["trees"] = 4 });
        var rows = RunLog.Read(Path.Combine(dir, "metrics.jsonl"));
        Assert.Equal(3, rows.Count);
        Assert.Equal(0.2, rows[1]["reward"]!.GetValue<double>(), 12);
        Assert.Equal("train", rows[2]["phase"]!.GetValue<string>());

        string events = Directory.GetFiles(Path.Combine(dir, "tensorboard"), "events.out.tfevents.*", SearchOption.AllDirectories).Single();
        string raw = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(events));
        Assert.Contains("reward", raw);
        Assert.DoesNotContain("phase", raw);

        RunLog.TruncateAfter(Path.Combine(dir, "metrics.jsonl"), 1);
        Assert.Single(RunLog.Read(Path.Combine(dir, "metrics.jsonl")));
    }

    [Fact]
    public void A_corrupt_line_is_reported_with_file_and_line()
    {
        string path = Path.Combine(TreePO.Testing.ScratchFolders.Create("treepo-runlog-").FullName, "metrics.jsonl");
        File.WriteAllText(path, "{\"step\":1}\nnot json\n");
        var e = Assert.Throws<InvalidDataException>(() => RunLog.Read(path));
        Assert.Contains("metrics.jsonl:2", e.Message);
    }

    [Fact]
    public void Resume_moves_old_event_files_aside_and_rewrites_the_kept_steps()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-runlog-").FullName;
        var log = new RunLog(dir);
        for (int step = 1; step <= 3; step++)
            log.Write(step, new Dictionary<string, object?> { ["reward"] = 0.1 * step, ["phase"] = "train" });
        string board = Path.Combine(dir, "tensorboard");
        Assert.Equal(3, TagCount(Directory.GetFiles(board, "events.out.tfevents.*").Single(), "reward"));

        // Interrupted after step 3, resumed from the checkpoint of step 1: steps 2 and 3 will be redone.
        var resumed = RunLog.Resume(dir, 1);
        Assert.Single(RunLog.Read(resumed.MetricsPath));
        string aside = Directory.GetDirectories(board, "superseded-*").Single();
        Assert.Equal(3, TagCount(Directory.GetFiles(aside).Single(), "reward"));
        string fresh = Directory.GetFiles(board, "events.out.tfevents.*").Single();
        Assert.Equal(1, TagCount(fresh, "reward"));   // step 1 again, from metrics.jsonl

        resumed.Write(2, new Dictionary<string, object?> { ["reward"] = 0.25 });
        Assert.Equal(2, TagCount(fresh, "reward"));
        Assert.Equal([1, 2], RunLog.Read(resumed.MetricsPath).Select(r => r["step"]!.GetValue<int>()));
    }

    /// <summary>Scalar events written under <paramref name="tag"/> (each event record names its tag once).</summary>
    static int TagCount(string eventsFile, string tag)
    {
        string raw = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(eventsFile));
        int count = 0;
        for (int i = raw.IndexOf(tag, StringComparison.Ordinal); i >= 0; i = raw.IndexOf(tag, i + tag.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
