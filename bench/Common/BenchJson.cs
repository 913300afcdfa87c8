using System.Text.Json;

namespace TreePO.Bench.Common;

/// <summary>Writes a benchmark's JSON file (indented, the property names as given) and says where.</summary>
public static class BenchJson
{
    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Write(string path, object value)
    {
        string full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } dir) Directory.CreateDirectory(dir);
        File.WriteAllText(full, JsonSerializer.Serialize(value, Options) + "\n");
        return full;
    }

    public static object MachineJson(Machine m) => new
    {
        cpu = m.Cpu,
        logical_cores = m.LogicalCores,
        memory_bytes = m.MemoryBytes,
        os = m.Os,
        runtime = m.Runtime,
        torch_threads = m.TorchThreads,
        commit = m.Commit,
        uncommitted_changes = m.Dirty,
        date_utc = m.Date.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    };
}
