using System.Text;
using TreePO.Core.Data;
using TreePO.Core.Tasks;

namespace TreePO.Core.Tests.Data;

public sealed class TaskDatasetTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Written_items_read_back_the_same_with_default_and_custom_fields()
    {
        var task = new ArithmeticTask(seed: 4);
        var items = Enumerable.Range(0, 20).Select(i => task.Generate(TaskSplit.Test, i).ToItem()).Append(new TaskItem("u", "Ünïcödé 你好 \"quoted\"\n?", "7")).ToList();
        foreach (var fields in new[] { DatasetFields.Default, new DatasetFields(Question: "problem", Answer: "target", Id: "uid", Solution: "worked") })
        {
            string path = Path.Combine(_dir, "data.jsonl");
            TaskDataset.Write(path, items, fields);
            var read = TaskDataset.Read(path, fields);
            Assert.Empty(read.Errors);
            Assert.Equal(items, read.Items);
            if (fields != DatasetFields.Default)
                Assert.Contains("\"problem\":", File.ReadAllText(path));
        }
    }

    [Fact]
    public void Bad_rows_are_reported_with_file_and_line_counted_and_skipped()
    {
        string path = Path.Combine(_dir, "bad.jsonl");
        using (var f = File.Create(path))
        {
            void Line(string s) => f.Write(Encoding.UTF8.GetBytes(s + "\n"));
            Line("""{"question": "1+1?", "answer": "2"}"""); // 1 ok
            Line("""{"question": "no answer"}"""); // 2 missing answer
            Line("not json"); // 3
            f.Write([0x7B, 0x22, 0x71, 0xFF, 0xFE, 0x22, 0x7D, 0x0A]); // 4 not UTF-8
            Line(""); // 5 blank: ignored
            Line("""["question", "answer"]"""); // 6 not an object
            Line("""{"question": "", "answer": "3"}"""); // 7 empty question
            Line("""{"question": "2*3?", "answer": 6}"""); // 8 ok, numeric answer
            Line("""{"question": "x?", "answer": null}"""); // 9 null answer
            f.Write(Encoding.UTF8.GetBytes("{\"question\": \"last\", \"answer\": \"9\", \"id\": 17}\r\n")); // 10 ok, CRLF, numeric id
        }

        var result = TaskDataset.Read(path);

        Assert.Equal(["1+1?", "2*3?", "last"], result.Items.Select(i => i.Question));
        Assert.Equal(["2", "6", "9"], result.Items.Select(i => i.Answer));
        Assert.Equal(["bad.jsonl:1", "bad.jsonl:8", "17"], result.Items.Select(i => i.Id));
        Assert.Equal(6, result.Skipped);
        Assert.Equal([2, 3, 4, 6, 7, 9], result.Errors.Select(e => e.Line));
        Assert.All(result.Errors, e => Assert.Equal(path, e.File));
        string[] messages = result.Errors.Select(e => e.ToString()).ToArray();
        Assert.Equal($"{path}:2: field 'answer' is missing", messages[0]);
        Assert.StartsWith($"{path}:3: not valid JSON", messages[1]);
        Assert.Equal($"{path}:4: not valid UTF-8", messages[2]);
        Assert.Equal($"{path}:6: expected a JSON object, found a JSON array", messages[3]);
        Assert.Equal($"{path}:7: field 'question' must be a non-empty string, found an empty string", messages[4]);
        Assert.Equal($"{path}:9: field 'answer' must be a non-empty string or a number, found a JSON null", messages[5]);
    }
}
