using System.Text.Json;
using System.Text.Json.Nodes;
using TreePO.Core.Tasks;

namespace TreePO.Core.Data;

/// <summary>
/// One dataset row (a JSON object, or a Parquet row turned into one) to a <see cref="TaskItem"/> through the
/// <see cref="DatasetFields"/>: dotted paths into nested objects, a question that is text or chat messages, an answer
/// that is a string or a number taken in the fields' <see cref="AnswerStyle"/>.
/// </summary>
public static class DatasetRow
{
    public static bool TryParse(JsonNode? root, DatasetFields fields, string defaultId, out TaskItem? item, out string? problem)
    {
        item = null;
        problem = null;
        if (root is not JsonObject row)
        {
            problem = $"expected a JSON object, found {Describe(root)}";
            return false;
        }
        IReadOnlyList<ChatMessage>? messages = null;
        string? question = Find(row, fields.Question, out var q) && q is JsonArray list
            ? Messages(list, fields.Question, out messages, ref problem)
            : Text(row, fields.Question, allowNumber: false, ref problem);
        string? answer = question is null ? null : Text(row, fields.Answer, allowNumber: true, ref problem);
        if (question is null || answer is null)
            return false;
        answer = AnswerStyles.Take(fields.Style, answer, fields.Answer, out problem);
        if (answer is null)
            return false;
        string? id = Find(row, fields.Id, out var idNode) ? Scalar(idNode) : null;
        if (id is not null && fields.Source is not null && Find(row, fields.Source, out var source) && Scalar(source) is { } s)
            id = $"{s}-{id}";
        string? solution = Find(row, fields.Solution, out var sol) && sol is JsonValue v && v.TryGetValue(out string? text) ? text : null;
        item = new TaskItem(id ?? defaultId, question, answer, solution, messages);
        return true;
    }

    /// <summary>The node at <paramref name="path"/>: the field of that exact name, else the dotted path through nested objects.</summary>
    static bool Find(JsonObject row, string path, out JsonNode? node)
    {
        if (row.TryGetPropertyValue(path, out node))
            return true;
        JsonNode? at = row;
        foreach (string part in path.Split('.'))
        {
            if (at is not JsonObject o || !o.TryGetPropertyValue(part, out at))
            {
                node = null;
                return false;
            }
        }
        node = at;
        return true;
    }

    static string? Text(JsonObject row, string field, bool allowNumber, ref string? problem)
    {
        if (!Find(row, field, out var v))
        {
            problem = $"field '{field}' is missing";
            return null;
        }
        var kind = v?.GetValueKind() ?? JsonValueKind.Null;
        if (kind == JsonValueKind.String && v!.GetValue<string>() is { } s && !string.IsNullOrWhiteSpace(s))
            return s;
        if (allowNumber && kind == JsonValueKind.Number)
            return v!.ToJsonString();
        problem = $"field '{field}' must be a non-empty string{(allowNumber ? " or a number" : "")}, found {Describe(v)}";
        return null;
    }

    /// <summary>Chat messages <c>[{role, content}]</c>: system, user and assistant turns, the last one a user's.</summary>
    static string? Messages(JsonArray list, string field, out IReadOnlyList<ChatMessage>? messages, ref string? problem)
    {
        messages = null;
        var result = new List<ChatMessage>(list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonObject m || Scalar(m["role"]) is not { } role || m["content"]?.GetValueKind() != JsonValueKind.String)
            {
                problem = $"field '{field}'[{i}] must be a chat message {{\"role\": ..., \"content\": \"...\"}}, found {Describe(list[i])}";
                return null;
            }
            if (!ChatMessage.Roles.Contains(role))
            {
                problem = $"field '{field}'[{i}] has role '{role}'; prompts take {string.Join(", ", ChatMessage.Roles)}";
                return null;
            }
            result.Add(new ChatMessage(role, m["content"]!.GetValue<string>()));
        }
        if (result.Count == 0 || result[^1].Role != "user" || string.IsNullOrWhiteSpace(result[^1].Content))
        {
            problem = $"field '{field}' must end with a non-empty user message (the prompt ends where the reply begins)";
            return null;
        }
        messages = result;
        return result[^1].Content;
    }

    static string? Scalar(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.String => node.GetValue<string>(),
        JsonValueKind.Number => node.ToJsonString(),
        _ => null,
    };

    static string Describe(JsonNode? v) => v?.GetValueKind() switch
    {
        null => "a JSON null",
        JsonValueKind.String => "an empty string",
        var k => $"a JSON {k.ToString()!.ToLowerInvariant()}",
    };
}
