using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace TreePO.Engine.Checkpoint;

/// <summary>Reads the JSON header of a safetensors file (8-byte little-endian length, then JSON): names, dtypes and
/// shapes, so a checkpoint can be checked against the model before any weight is read.</summary>
public static class SafetensorsHeader
{
    public static IReadOnlyDictionary<string, SafetensorsEntry> Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads the header and leaves the stream at the start of the data. Every problem names
    /// <paramref name="source"/> and what is wrong: too short, a header that is not JSON or lacks a field, offsets
    /// past the end of a seekable stream (a truncated file). <paramref name="headerOnly"/>: the stream holds the
    /// header alone (staged transfers bring the data separately), so its length says nothing about the data.</summary>
    public static IReadOnlyDictionary<string, SafetensorsEntry> Read(Stream stream, string source, bool headerOnly = false) =>
        Read(stream, source, out _, headerOnly);

    /// <summary>As <see cref="Read(Stream, string, bool)"/>, with the header's <c>__metadata__</c> string entries.</summary>
    public static IReadOnlyDictionary<string, SafetensorsEntry> Read(Stream stream, string source,
        out IReadOnlyDictionary<string, string> metadata, bool headerOnly = false)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        metadata = meta;
        long? remaining = stream.CanSeek && !headerOnly ? stream.Length - stream.Position : null;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{source}: not a safetensors file: {remaining ?? 0} bytes, shorter than the 8-byte header length (truncated or empty)");
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length == 0 || length > 100_000_000)
            throw new InvalidDataException($"{source}: not a safetensors file: its first 8 bytes give a header length of {length} bytes");
        if (remaining is long total && (long)length > total - 8)
            throw new InvalidDataException($"{source}: truncated: its header should be {length} bytes but only {total - 8} bytes follow the length");
        var json = new byte[length];
        if (stream.ReadAtLeast(json, json.Length, throwOnEndOfStream: false) < json.Length)
            throw new InvalidDataException($"{source}: truncated: the stream ended inside its {length}-byte header");

        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: the safetensors header is not JSON: {e.Message}", e); }
        var result = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{source}: the safetensors header is a JSON {doc.RootElement.ValueKind}, not an object of tensors");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in p.Value.EnumerateObject())
                            if (m.Value.ValueKind == JsonValueKind.String) meta[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                try
                {
                    string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                    long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (offsets.Length != 2) throw new InvalidDataException($"{source}: tensor '{p.Name}' has {offsets.Length} data offsets, not 2");
                    if (offsets[0] < 0 || offsets[1] < offsets[0])
                        throw new InvalidDataException($"{source}: tensor '{p.Name}' has data offsets [{offsets[0]}, {offsets[1]}], not a byte range");
                    result[p.Name] = new SafetensorsEntry(p.Name, dtype, shape, offsets[0], offsets[1]);
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw new InvalidDataException($"{source}: bad safetensors header entry for tensor '{p.Name}' (it needs dtype, shape and data_offsets): {e.Message}", e);
                }
            }
        }
        if (remaining is long size && result.Count > 0)
        {
            long data = size - 8 - (long)length;
            var last = result.Values.MaxBy(e => e.End)!;
            if (last.End > data)
                throw new InvalidDataException($"{source}: truncated: tensor '{last.Name}' ends at byte {last.End} of the data but the file holds only " +
                    $"{data} bytes of data ({last.End - data} bytes missing)");
        }
        return result;
    }

    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new InvalidDataException($"unknown safetensors dtype '{dtype}'"),
    };
}
