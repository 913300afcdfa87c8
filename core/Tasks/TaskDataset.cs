using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TreePO.Core.Tasks;

/// <summary>
/// Datasets as JSON Lines, one object per line. Reading never stops at a bad row: a line that is not UTF-8, not a
/// JSON object, or lacks the question or answer field is recorded with its file and line number, counted and
/// skipped; blank lines are ignored. Answers may be strings or numbers (GSM8K-style files use both).
/// </summary>
public static class TaskDataset
{
    public sealed record ReadResult(IReadOnlyList<TaskItem> Items, IReadOnlyList<DatasetRowError> Errors)
    {
        public int Skipped => Errors.Count;
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

    public static ReadResult Read(string path, DatasetFields? fields = null)
    {
        fields ??= DatasetFields.Default;
        var items = new List<TaskItem>();
        var errors = new List<DatasetRowError>();
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
            if (TryParse(line, fields, $"{name}:{lineNumber}", out var item, out string? problem))
                items.Add(item!);
            else
                errors.Add(new DatasetRowError(path, lineNumber, problem!));
        }
        return new ReadResult(items, errors);
    }

    static bool TryParse(string line, DatasetFields fields, string defaultId, out TaskItem? item, out string? problem)
    {
        item = null;
        problem = null;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            problem = $"not valid JSON: {e.Message}";
            return false;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = $"expected a JSON object, found a JSON {root.ValueKind.ToString().ToLowerInvariant()}";
                return false;
            }
            string? question = Text(root, fields.Question, allowNumber: false, ref problem);
            string? answer = question is null ? null : Text(root, fields.Answer, allowNumber: true, ref problem);
            if (question is null || answer is null)
                return false;
            string? id = root.TryGetProperty(fields.Id, out var idEl) && idEl.ValueKind is JsonValueKind.String or JsonValueKind.Number
                ? (idEl.ValueKind == JsonValueKind.String ? idEl.GetString() : idEl.GetRawText())
                : null;
            string? solution = root.TryGetProperty(fields.Solution, out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            item = new TaskItem(id ?? defaultId, question, answer, solution);
            return true;
        }
    }

    static string? Text(JsonElement root, string field, bool allowNumber, ref string? problem)
    {
        if (!root.TryGetProperty(field, out var v))
        {
            problem = $"field '{field}' is missing";
            return null;
        }
        if (v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString()))
            return v.GetString();
        if (allowNumber && v.ValueKind == JsonValueKind.Number)
            return v.GetRawText();
        problem = $"field '{field}' must be a non-empty string{(allowNumber ? " or a number" : "")}, found {Describe(v)}";
        return null;
    }

    static string Describe(JsonElement v) => v.ValueKind == JsonValueKind.String ? "an empty string" : $"a JSON {v.ValueKind.ToString().ToLowerInvariant()}";

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
