using System.Reflection;

namespace TreePO.Cluster.Tests.Support;

/// <summary>Paths of this checkout: the repository root (stamped in at build time), the scripts, and the silo and
/// client programs built with the same configuration as these tests.</summary>
public static class Repo
{
    public static string Root { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepoRoot").Value!;

    static string Configuration { get; } = typeof(Repo).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string Script(string name) => Path.Combine(Root, "scripts", name);

    public static string SiloDll => Built("silo", "treepo-silo.dll");
    public static string ClientDll => Built("client", "treepo.dll");
    public static string BuiltinModel => Path.Combine(Root, "models", "builtin");

    static string Built(string project, string dll)
    {
        string path = Path.Combine(Root, project, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path
            : throw new FileNotFoundException($"{path} is missing: build tests/TreePO.Cluster.Tests (it builds {project}/) with -c {Configuration}");
    }
}
