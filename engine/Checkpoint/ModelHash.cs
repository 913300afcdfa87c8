using System.Security.Cryptography;

namespace TreePO.Engine.Checkpoint;

/// <summary>The identity of a model folder's content, so processes can tell whether they serve the same model: silos
/// publish it, routing and the trainer compare it.</summary>
public static class ModelHash
{
    /// <summary>SHA-256 over the files that decide what a model computes and how text maps to ids: config.json, the
    /// tokenizer files, and the safetensors weights, each framed by its name and length. Hex, lower case.</summary>
    public static string Of(string dir)
    {
        var files = new[] { "config.json", "tokenizer.json", "tokenizer_config.json" }
            .Concat(Directory.EnumerateFiles(dir, "*.safetensors").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal))
            .Where(f => File.Exists(Path.Combine(dir, f)));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (string name in files)
        {
            using var stream = File.OpenRead(Path.Combine(dir, name));
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}\n{stream.Length}\n"));
            for (int n; (n = stream.Read(buffer)) > 0;) sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
