using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace TreePO.Engine.Checkpoint;

/// <summary>
/// Writes a safetensors file as Hugging Face tools expect it: fp32 tensors, <c>{"format": "pt"}</c> metadata, the
/// header padded with spaces to a multiple of 8 bytes, data in header order.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = File.Create(path);
        Write(stream, tensors, metadata);
    }

    /// <summary><paramref name="metadata"/>: extra string entries of <c>__metadata__</c> beside <c>format</c>.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        stream.Write(Header(list, metadata));

        foreach (var (_, t) in list)
        {
            using var scope = NewDisposeScope();
            var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
            // Write in slices so that no single managed buffer approaches the 2 GB array limit.
            var flat = cpu.view(-1);
            const long Slice = 1 << 24;
            for (long s = 0; s < flat.shape[0]; s += Slice)
            {
                // A fresh tensor, so its bytes start at its own storage's first element.
                using var part = flat.narrow(0, s, Math.Min(Slice, flat.shape[0] - s)).clone();
                stream.Write(part.bytes);
            }
        }
    }

    /// <summary>The file's first bytes (length, JSON header padded to a multiple of 8) for fp32 <paramref name="tensors"/>
    /// in this order; the data follows it.</summary>
    public static byte[] Header(IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new JsonObject { ["format"] = "pt" };
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) meta[key] = value;
        var header = new JsonObject { ["__metadata__"] = meta };
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            long bytes = t.NumberOfElements * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        var result = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        json.CopyTo(result, 8);
        result.AsSpan(8 + json.Length).Fill((byte)' ');
        return result;
    }
}
