using System.Collections;
using System.Globalization;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace TreePO.Core.Data;

/// <summary>
/// The rows of a Parquet file as JSON objects, nested columns included (a list of structs becomes an array of
/// objects, a struct an object), so that one <see cref="DatasetRow"/> reads both encodings.
/// </summary>
public static class ParquetRows
{
    /// <summary>"PAR1": the first (and last) four bytes of every Parquet file.</summary>
    public static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>True when the file starts with the Parquet magic.</summary>
    public static bool IsParquet(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head.SequenceEqual(Magic);
    }

    public static async Task<IReadOnlyList<JsonObject>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var stream = File.OpenRead(path);
            var result = await ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: cancellationToken);
            return result.Data.Select(row => (JsonObject)ToNode(row)!).ToList();
        }
        catch (Exception e) when (e is not (OperationCanceledException or FileNotFoundException or UnauthorizedAccessException))
        {
            // A truncated or foreign file: one message naming it, not a stack of reader internals.
            throw new InvalidDataException($"{path}: starts like a Parquet file but cannot be read as one: {e.Message}", e);
        }
    }

    static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        byte[] bytes => JsonValue.Create(System.Text.Encoding.UTF8.GetString(bytes)),
        IDictionary<string, object?> map => new JsonObject(map.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        IDictionary map => new JsonObject(map.Keys.Cast<object>().Select(k => KeyValuePair.Create(Convert.ToString(k, CultureInfo.InvariantCulture)!, ToNode(map[k])))),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToNode).ToArray()),
        sbyte or byte or short or ushort or int or uint or long or ulong => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        IFormattable f => JsonValue.Create(f.ToString(null, CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(value.ToString()),
    };
}
