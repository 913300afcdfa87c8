using System.Diagnostics;
using System.Text.Json;
using TreePO.Cluster.Tests.Support;

namespace TreePO.Cluster.Tests;

/// <summary>
/// `score` and `tokenize` run as the README says (`dotnet run --project client -c Release -- COMMAND`), from a folder
/// outside the repository, are pipeline filters: every line of their standard output is JSON, so nothing of the
/// build (NuGet or compiler warnings), the runtime or the command itself may reach it. `dotnet run` builds the client
/// first, so these run alone: nothing else starts the client while its build checks its outputs.
/// </summary>
[Collection(nameof(DotnetRunCollection))]
public sealed class JsonLinesCommandsTests
{
    static string RunConfiguration => typeof(Repo).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
        .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Release";

    /// <summary>`dotnet run --project REPO/client -c CONFIG -- args` in <paramref name="cwd"/>, stdin written and closed;
    /// stdout and stderr kept apart.</summary>
    static async Task<(int Code, string Stdout, string Stderr)> DotnetRunAsync(string cwd, string stdin, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        foreach (string a in (string[])["run", "--project", Path.Combine(Repo.Root, "client"), "-c", RunConfiguration, "--", .. args])
            info.ArgumentList.Add(a);
        // A fresh user's environment: none of the test host's MSBuild settings leak into the child build.
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet run {string.Join(' ', args)} did not finish in 8 minutes:\n{await stderr}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    static List<JsonElement> JsonLines(string stdout, string stderr)
    {
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("", lines[^1]);   // ends with a newline
        var parsed = new List<JsonElement>();
        foreach (string line in lines[..^1])
        {
            try { parsed.Add(JsonDocument.Parse(line).RootElement.Clone()); }
            catch (JsonException e) { Assert.Fail($"a line of stdout is not JSON ({e.Message}): '{line}'\nstdout:\n{stdout}\nstderr:\n{stderr}"); }
        }
        return parsed;
    }

    [Fact]
    public async Task Score_and_tokenize_through_dotnet_run_from_outside_the_repository_print_only_json()
    {
        string work = TreePO.Testing.ScratchFolders.Create("treepo-jsonlines-").FullName;
        try
        {
            var (rc, stdout, stderr) = await DotnetRunAsync(work,
                "{\"response\": \"so the answer is \\\\boxed{42}\", \"answer\": \"42\"}\n{\"response\": \"\\\\boxed{7}\", \"answer\": \"8\"}\n", "score");
            Assert.True(rc == 0, $"exit {rc}\nstdout:\n{stdout}\nstderr:\n{stderr}");
            var scores = JsonLines(stdout, stderr);
            Assert.Equal(2, scores.Count);
            Assert.True(scores[0].GetProperty("correct").GetBoolean());
            Assert.Equal("42", scores[0].GetProperty("extracted").GetString());
            Assert.False(scores[1].GetProperty("correct").GetBoolean());
            Assert.Equal(-1, scores[1].GetProperty("reward").GetDouble());

            // No --model: the built-in model's tokenizer, found beside the program from this folder.
            (rc, stdout, stderr) = await DotnetRunAsync(work, "\"12 + 30 = 42\"\n\"\"\n", "tokenize");
            Assert.True(rc == 0, $"exit {rc}\nstdout:\n{stdout}\nstderr:\n{stderr}");
            var ids = JsonLines(stdout, stderr);
            Assert.Equal(2, ids.Count);
            Assert.Equal(JsonValueKind.Array, ids[0].ValueKind);
            Assert.True(ids[0].GetArrayLength() > 0);
            Assert.All(ids[0].EnumerateArray(), id => Assert.True(id.GetInt32() >= 0));
            Assert.Equal(0, ids[1].GetArrayLength());
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>Tests that build the client through `dotnet run` run by themselves, after the parallel ones.</summary>
[CollectionDefinition(nameof(DotnetRunCollection), DisableParallelization = true)]
public sealed class DotnetRunCollection;
