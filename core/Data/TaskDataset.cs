using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using TreePO.Core.Tasks;

namespace TreePO.Core.Data;

/// <summary>
/// The one dataset reader of `train`, `eval` and `rollout`: a file, or a folder of shards (its *.parquet, *.jsonl and
/// *.json files in name order), each JSON lines or Parquet as its content says (the PAR1 magic), whatever its name.
/// Reading never stops at a bad row: a line that is not UTF-8, not a JSON object, or a row that lacks the question or
/// answer field is recorded with its file and line (or row), counted and skipped; blank lines are ignored.
/// </summary>
public static class TaskDataset
{
    public static readonly string[] ShardExtensions = [".parquet", ".jsonl", ".json"];

    public sealed record ReadResult(IReadOnlyList<TaskItem> Items, IReadOnlyList<DatasetRowError> Errors)
    {
        public int Skipped => Errors.Count;

        /// <summary>What the reader decided that the user may not expect (a file whose name says another encoding).</summary>
        public IReadOnlyList<string> Notes { get; init; } = [];
    }

    public static void Write(string path, IEnumerable<TaskItem> items, DatasetFields? fields = null)
    {
        fields ??= DatasetFields.Default;
        using var stream = File.Create(path);
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var item in items)
        {
            using (var w = new Utf8JsonWriter(stream, options))
            {
                w.WriteStartObject();
                w.WriteString(fields.Id, item.Id);
                w.WriteString(fields.Question, item.Question);
                w.WriteString(fields.Answer, item.Answer);
                if (item.Solution is not null)
                    w.WriteString(fields.Solution, item.Solution);
                w.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>The files of a dataset path: the file itself, or a folder's shards in ordinal name order.</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        if (File.Exists(path))
            return [path];
        if (!Directory.Exists(path))
            throw new FileNotFoundException($"dataset {path} does not exist", path);
        var files = Directory.EnumerateFiles(path)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && ShardExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files
            : throw new FileNotFoundException($"dataset folder {path} holds no {string.Join(", ", ShardExtensions.Select(e => "*" + e))} file", path);
    }

    public static ReadResult Read(string path, DatasetFields? fields = null) => ReadAsync(path, fields).GetAwaiter().GetResult();

    public static async Task<ReadResult> ReadAsync(string path, DatasetFields? fields = null, CancellationToken cancellationToken = default)
    {
        fields ??= DatasetFields.Default;
        var items = new List<TaskItem>();
        var errors = new List<DatasetRowError>();
        var notes = new List<string>();
        foreach (string file in Files(path))
        {
            bool parquet = ParquetRows.IsParquet(file);
            bool namedParquet = Path.GetExtension(file).Equals(".parquet", StringComparison.OrdinalIgnoreCase);
            if (parquet != namedParquet)
                notes.Add(parquet
                    ? $"{file}: a Parquet file (PAR1 magic) under a JSON-lines name; read as Parquet"
                    : $"{file}: named .parquet but has no PAR1 magic; read as JSON lines");
            if (parquet)
                ReadParquet(file, await ParquetRows.ReadAsync(file, cancellationToken), fields, items, errors);
            else
                ReadJsonLines(file, fields, items, errors);
        }
        return new ReadResult(items, errors) { Notes = notes };
    }

    static void ReadParquet(string path, IReadOnlyList<JsonObject> rows, DatasetFields fields, List<TaskItem> items, List<DatasetRowError> errors)
    {
        string name = Path.GetFileName(path);
        for (int i = 0; i < rows.Count; i++)
        {
            if (DatasetRow.TryParse(rows[i], fields, $"{name}:{i + 1}", out var item, out string? problem))
                items.Add(item!);
            else
                errors.Add(new DatasetRowError(path, i + 1, problem!, ParquetRow: true));
        }
    }

    static void ReadJsonLines(string path, DatasetFields fields, List<TaskItem> items, List<DatasetRowError> errors)
    {
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        string name = Path.GetFileName(path);
        int lineNumber = 0;
        foreach (byte[] raw in Lines(path))
        {
            lineNumber++;
            string line;
            try
            {
                line = utf8.GetString(raw);
            }
            catch (DecoderFallbackException)
            {
                errors.Add(new DatasetRowError(path, lineNumber, "not valid UTF-8"));
                continue;
            }
            if (string.IsNullOrWhiteSpace(line))
                continue;
            if (lineNumber == 1 && line[0] == '\uFEFF')
                line = line[1..];
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(line);
            }
            catch (JsonException e)
            {
                errors.Add(new DatasetRowError(path, lineNumber, $"not valid JSON: {e.Message}"));
                continue;
            }
            if (DatasetRow.TryParse(root, fields, $"{name}:{lineNumber}", out var item, out string? problem))
                items.Add(item!);
            else
                errors.Add(new DatasetRowError(path, lineNumber, problem!));
        }
    }

    /// <summary>The file's lines as raw bytes, so that a line that is not UTF-8 can be reported alone.</summary>
    static IEnumerable<byte[]> Lines(string path)
    {
        using var stream = new BufferedStream(File.OpenRead(path), 1 << 16);
        var line = new List<byte>(256);
        int b;
        while ((b = stream.ReadByte()) >= 0)
        {
            if (b == '\n')
            {
                yield return TrimCr(line);
                line.Clear();
            }
            else
                line.Add((byte)b);
        }
        if (line.Count > 0)
            yield return TrimCr(line);
    }

    static byte[] TrimCr(List<byte> line) =>
        (line.Count > 0 && line[^1] == '\r' ? line.GetRange(0, line.Count - 1) : line).ToArray();
}
