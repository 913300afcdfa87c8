using Parquet.Schema;
using Parquet.Serialization;
using TreePO.Core.Data;
using TreePO.Testing;
using P = TreePO.Testing.ParquetDatasets.Problem;

namespace TreePO.Core.Tests.Data;

/// <summary>Parquet files written with Parquet.Net (nested columns included) read back through the one reader, with
/// the presets and field maps; bad rows named by file, row and field; encodings told apart by content.</summary>
public sealed class ParquetDatasetTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-parquet-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task A_verl_layout_file_reads_its_chat_messages_ground_truth_and_ids()
    {
        string path = PathOf("train.parquet");
        await ParquetDatasets.WriteVerlAsync(path, [new P("1+2=?", "3"), new P("2*5=?", "10", System: "Answer briefly."), new P("9-4=?", "5")]);

        var read = await TaskDataset.ReadAsync(path, DatasetFields.For(DatasetFormat.Verl));

        Assert.Empty(read.Errors);
        Assert.Empty(read.Notes);
        Assert.Equal(["arith-0", "arith-1", "arith-2"], read.Items.Select(i => i.Id));
        Assert.Equal(["1+2=?", "2*5=?", "9-4=?"], read.Items.Select(i => i.Question));
        Assert.Equal(["3", "10", "5"], read.Items.Select(i => i.Answer));
        Assert.Equal([new ChatMessage("user", "1+2=?")], read.Items[0].Messages!);
        Assert.Equal([new ChatMessage("system", "Answer briefly."), new ChatMessage("user", "2*5=?")], read.Items[1].Messages!);
    }

    [Fact]
    public async Task A_gsm8k_style_file_takes_the_answer_after_the_hashes()
    {
        string path = PathOf("gsm8k.parquet");
        await ParquetDatasets.WriteGsm8kAsync(path, [new P("How many?", "1,200"), new P("And now?", "-7")]);

        var read = await TaskDataset.ReadAsync(path, DatasetFields.For(DatasetFormat.Gsm8k));

        Assert.Empty(read.Errors);
        Assert.Equal(["1200", "-7"], read.Items.Select(i => i.Answer));
        Assert.Equal(["gsm8k.parquet:1", "gsm8k.parquet:2"], read.Items.Select(i => i.Id));
        Assert.Null(read.Items[0].Messages);
    }

    [Fact]
    public async Task Field_maps_take_dotted_paths_over_a_preset()
    {
        string path = PathOf("train.parquet");
        await ParquetDatasets.WriteVerlAsync(path, [new P("1+2=?", "3")]);

        var read = await TaskDataset.ReadAsync(path, DatasetFields.For(DatasetFormat.Jsonl, question: "prompt", answer: "reward_model.ground_truth", id: "extra_info.split"));

        Assert.Equal("train", Assert.Single(read.Items).Id);   // no data_source prefix outside the verl preset
        Assert.Equal("3", read.Items[0].Answer);
    }

    [Fact]
    public async Task Bad_parquet_rows_are_skipped_with_file_row_and_field_named()
    {
        string path = PathOf("bad.parquet");
        var schema = new ParquetSchema(
            new ListField("prompt", new StructField("element", new DataField<string>("role"), new DataField<string>("content"))),
            new StructField("reward_model", new DataField<string?>("ground_truth")));
        static Dictionary<string, object?> M(string role, string content) => new() { ["role"] = role, ["content"] = content };
        static Dictionary<string, object?> Row(List<Dictionary<string, object?>> prompt, string? truth) =>
            new() { ["prompt"] = prompt, ["reward_model"] = new Dictionary<string, object?> { ["ground_truth"] = truth } };
        var rows = new List<IDictionary<string, object?>>
        {
            Row([M("user", "ok?")], "1"),
            Row([M("user", "no truth")], null),
            Row([M("user", "q"), M("assistant", "a")], "2"),
            Row([M("tool", "x"), M("user", "q")], "3"),
            Row([], "4"),
        };
        await using (var f = File.Create(path))
            await ParquetSerializer.SerializeUntypedAsync(rows, schema, f);

        var read = await TaskDataset.ReadAsync(path, DatasetFields.For(DatasetFormat.Verl));

        Assert.Equal("ok?", Assert.Single(read.Items).Question);
        Assert.Equal([2, 3, 4, 5], read.Errors.Select(e => e.Line));
        string[] messages = read.Errors.Select(e => e.ToString()).ToArray();
        Assert.Equal($"{path}: row 2: field 'reward_model.ground_truth' is missing", messages[0]);   // a null cell
        Assert.Equal($"{path}: row 3: field 'prompt' must end with a non-empty user message (the prompt ends where the reply begins)", messages[1]);
        Assert.Equal($"{path}: row 4: field 'prompt'[0] has role 'tool'; prompts take system, user, assistant", messages[2]);
        Assert.StartsWith($"{path}: row 5: field 'prompt' must end", messages[3]);
    }

    [Fact]
    public async Task Encodings_are_told_apart_by_content_and_the_mismatch_is_named()
    {
        string parquetAsJsonl = PathOf("looks.jsonl");
        await ParquetDatasets.WriteGsm8kAsync(parquetAsJsonl, [new P("q1", "1")]);
        string jsonlAsParquet = PathOf("looks.parquet");
        File.WriteAllText(jsonlAsParquet, "{\"question\": \"q2\", \"answer\": \"#### 2\"}\n");

        var a = await TaskDataset.ReadAsync(parquetAsJsonl, DatasetFields.For(DatasetFormat.Gsm8k));
        var b = await TaskDataset.ReadAsync(jsonlAsParquet, DatasetFields.For(DatasetFormat.Gsm8k));

        Assert.Equal("1", Assert.Single(a.Items).Answer);
        Assert.Empty(a.Errors);
        Assert.Equal($"{parquetAsJsonl}: a Parquet file (PAR1 magic) under a JSON-lines name; read as Parquet", Assert.Single(a.Notes));
        Assert.Equal("2", Assert.Single(b.Items).Answer);
        Assert.Equal($"{jsonlAsParquet}: named .parquet but has no PAR1 magic; read as JSON lines", Assert.Single(b.Notes));
    }

    [Fact]
    public async Task A_damaged_parquet_file_is_refused_by_name()
    {
        string path = PathOf("cut.parquet");
        await ParquetDatasets.WriteGsm8kAsync(path, [new P("q", "1")]);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => TaskDataset.ReadAsync(path, DatasetFields.For(DatasetFormat.Gsm8k)));
        Assert.StartsWith($"{path}: starts like a Parquet file but cannot be read as one", e.Message);
    }

    [Fact]
    public async Task A_folder_of_shards_reads_its_parquet_and_json_lines_files_in_name_order()
    {
        string dir = Directory.CreateDirectory(PathOf("shards")).FullName;
        await ParquetDatasets.WriteGsm8kAsync(Path.Combine(dir, "part-0.parquet"), [new P("a", "1"), new P("b", "2")]);
        File.WriteAllText(Path.Combine(dir, "part-1.jsonl"), "{\"question\": \"c\", \"answer\": \"x\\n#### 3\"}\n");
        File.WriteAllText(Path.Combine(dir, "README.md"), "not a shard");

        var read = await TaskDataset.ReadAsync(dir, DatasetFields.For(DatasetFormat.Gsm8k));

        Assert.Equal(["a", "b", "c"], read.Items.Select(i => i.Question));
        Assert.Equal(["1", "2", "3"], read.Items.Select(i => i.Answer));
        var empty = Directory.CreateDirectory(PathOf("empty")).FullName;
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => TaskDataset.ReadAsync(empty));
        Assert.Contains("holds no *.parquet, *.jsonl, *.json file", e.Message);
    }

    [Fact]
    public void The_math_preset_takes_the_last_boxed_answer_of_the_solution()
    {
        string path = PathOf("math.jsonl");
        File.WriteAllLines(path,
        [
            """{"problem": "Simplify.", "solution": "First \\boxed{2}, then $\\boxed{\\frac{1}{2}}$."}""",
            """{"problem": "No box.", "solution": "It is 3."}""",
        ]);

        var read = TaskDataset.Read(path, DatasetFields.For(DatasetFormat.Math));

        Assert.Equal("\\frac{1}{2}", Assert.Single(read.Items).Answer);
        Assert.Equal($"{path}:2: field 'solution' has no \\boxed{{}} answer (MATH style)", Assert.Single(read.Errors).ToString());
    }

    [Theory]
    [InlineData("verl", DatasetFormat.Verl)]
    [InlineData("GSM8K", DatasetFormat.Gsm8k)]
    [InlineData(null, DatasetFormat.Jsonl)]
    public void Presets_parse_by_name_and_a_mistyped_one_is_refused(string? name, DatasetFormat expected)
    {
        Assert.Equal(expected, DatasetFields.ParseFormat(name));
        var e = Assert.Throws<ArgumentException>(() => DatasetFields.ParseFormat("parquet"));
        Assert.Equal("--data-format must be one of jsonl, verl, gsm8k, math, got 'parquet'", e.Message);
    }
}
