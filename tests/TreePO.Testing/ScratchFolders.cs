using System.Collections.Concurrent;

namespace TreePO.Testing;

/// <summary>
/// Temporary folders the tests make and that outlive a test (models loaded by engines on other threads, run folders
/// read after a silo stops): each is deleted when the test process exits. Without it a run of the suite left about
/// 2,000 folders in /tmp.
/// </summary>
public static class ScratchFolders
{
    static readonly ConcurrentBag<string> Made = [];

    static ScratchFolders() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (string dir in Made)
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    };

    /// <summary><see cref="Directory.CreateTempSubdirectory"/>, deleted at exit.</summary>
    public static DirectoryInfo Create(string? prefix = null)
    {
        var dir = Directory.CreateTempSubdirectory(prefix);
        Made.Add(dir.FullName);
        return dir;
    }
}
