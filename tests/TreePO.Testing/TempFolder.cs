namespace TreePO.Testing;

/// <summary>A fresh folder under the system's temporary folder, deleted with everything in it when disposed (a test
/// that fails midway still leaves nothing behind).</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix) => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public static implicit operator string(TempFolder folder) => folder.Path;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
