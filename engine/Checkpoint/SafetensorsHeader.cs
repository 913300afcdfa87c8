using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace TreePO.Engine.Checkpoint;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>Reads the JSON header of a safetensors file (8-byte little-endian length, then JSON): names, dtypes and
/// shapes, so a checkpoint can be checked against the model before any weight is read.</summary>
public static class SafetensorsHeader
{
    public static IReadOnlyDictionary<string, SafetensorsEntry> Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads the header and leaves the stream at the start of the data.</summary>
    public static IReadOnlyDictionary<string, SafetensorsEntry> Read(Stream stream, string source) =>
        Read(stream, source, out _);

    /// <summary>Reads the header, with its <c>__metadata__</c> string entries, and leaves the stream at the start of
    /// the data.</summary>
    public static IReadOnlyDictionary<string, SafetensorsEntry> Read(Stream stream, string source,
        out IReadOnlyDictionary<string, string> metadata)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{source}: not a safetensors file (shorter than 8 bytes)");
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length == 0 || length > 100_000_000)
            throw new InvalidDataException($"{source}: not a safetensors file (header length {length})");
        var json = new byte[length];
        if (stream.ReadAtLeast(json, json.Length, throwOnEndOfStream: false) < json.Length)
            throw new InvalidDataException($"{source}: truncated safetensors header");

        var result = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        metadata = meta;
        try
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    foreach (var m in p.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2) throw new InvalidDataException($"{source}: '{p.Name}' has {offsets.Length} data offsets");
                result[p.Name] = new SafetensorsEntry(p.Name, dtype, shape, offsets[0], offsets[1]);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: bad safetensors header: {e.Message}", e);
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
