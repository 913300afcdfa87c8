using TreePO.Testing;
using System.Net;
using System.Text.Json;
using TreePO.Cluster.Tests.Support;
using TreePO.Hosting.Options;
using static TreePO.Cluster.Tests.Support.Listening;

namespace TreePO.Cluster.Tests;

/// <summary>
/// A silo process with Telemetry on: /metrics serves every TreePO instrument (and Orleans' own) once a rollout and a
/// training step have run through it, /health/live and /health/ready report the model, the engines and membership,
/// and the process listens on loopback only. The option checks, without processes.
/// </summary>
public sealed class TelemetryTests
{
    /// <summary>Every TreePO instrument, as Prometheus names it (docs/deploy.md lists the same).</summary>
    public static readonly string[] Series =
    [
        "treepo_engine_tokens_total{", "treepo_engine_step_duration_seconds_bucket{", "treepo_engine_batch_size_bucket{",
        "treepo_engine_queue_depth{", "treepo_engine_slots_live{", "treepo_engine_kv_used_bytes{", "treepo_engine_kv_budget_bytes{",
        "treepo_engine_kv_evictions_total{",
        "treepo_trees_in_flight{", "treepo_trees_segment_duration_seconds_bucket{", "treepo_trees_fallbacks_total{",
        "treepo_trees_failovers_total{",
        "treepo_trainer_step_duration_seconds_bucket{", "treepo_trainer_loss{", "treepo_trainer_policy_version{",
        "treepo_weightsync_transferred_bytes_total{", "treepo_weightsync_duration_seconds_bucket{",
    ];

    [Fact, Trait("Category", "cluster")]
    public async Task A_silo_serves_every_instrument_and_its_health_on_loopback_only()
    {
        int[] ports = FreePorts.Take(3);
        int telemetryPort = ports[2];
        string work = TreePO.Testing.ScratchFolders.Create("treepo-telemetry-").FullName;
        try
        {
            string clusterId = "tel-" + Guid.NewGuid().ToString("N")[..8];
            using var silo = ChildProcess.Dotnet("silo-telemetry", Repo.SiloDll,
            [
                $"--cluster.siloPort={ports[0]}", $"--cluster.primarySiloPort={ports[0]}", $"--cluster.gatewayPort={ports[1]}",
                $"--cluster.clusterId={clusterId}", $"--model.path={Repo.BuiltinModel}", "--engine.threads=1",
                "--telemetry.prometheus=true", "--telemetry.health=true", $"--telemetry.port={telemetryPort}",
            ], workingDirectory: work);
            string root = $"http://127.0.0.1:{telemetryPort}";
            await silo.WaitForOutputAsync($"Telemetry at {root}/metrics {root}/health/live {root}/health/ready", TimeSpan.FromSeconds(90));
            Assert.Matches(@"model \S+ checked in [\d.]+ s \(hash [0-9a-f]{12}\)", silo.Output);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using (var live = await http.GetAsync($"{root}/health/live"))
                Assert.True(live.StatusCode == HttpStatusCode.OK, await live.Content.ReadAsStringAsync());
            // Ready once the engine answers (the first probe activates it: it loads the model).
            var ready = await ReadyAsync(http, $"{root}/health/ready", TimeSpan.FromSeconds(60));
            foreach (string check in new[] { "model", "engines", "membership" })
                Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());
            Assert.Contains(Repo.BuiltinModel, ready.GetProperty("checks").GetProperty("model").GetProperty("description").GetString());

            var env = new Dictionary<string, string> { ["TREEPO__MODEL__PATH"] = Repo.BuiltinModel };
            string gateway = $"--cluster.gatewayPort={ports[1]}", cluster = $"--cluster.clusterId={clusterId}";
            await RunClientAsync(work, env, "rollout", "--cluster", gateway, cluster, "--queries", "3", "--out", Path.Combine(work, "ro"),
                "--tree.width=2", "--tree.depth=2", "--tree.segmentLength=8");
            await RunClientAsync(work, env, "train", "--cluster", gateway, cluster, "--name", "t", "--runs", Path.Combine(work, "runs"),
                "--steps", "1", "--queries", "8", "-w", "4", "-d", "2", "-l", "8", "--eval-queries", "2", "-k", "1", "--eval-max-tokens", "16");

            string metrics = await http.GetStringAsync($"{root}/metrics");
            var missing = Series.Where(s => !metrics.Contains('\n' + s, StringComparison.Ordinal)).ToList();
            Assert.True(missing.Count == 0, $"missing from /metrics: {string.Join(", ", missing)}\n{metrics}");
            Assert.Contains("otel_scope_name=\"Microsoft.Orleans\"", metrics);   // Orleans' own meters beside ours
            foreach (string kind in new[] { "prefill", "decode", "reused", "recomputed" })
                Assert.Contains($"kind=\"{kind}\"", metrics);
            foreach (string phase in new[] { "rollout", "update", "sync" })
                Assert.Contains($"phase=\"{phase}\"", metrics);
            Assert.Matches(@"\ntreepo_trainer_policy_version\{[^}]*run=""t""[^}]*\} 1\n", metrics);

            // Everything this process listens on is 127.0.0.1 (silo, gateway, telemetry, weight stream), and the
            // endpoint does not answer on another loopback address (a listener on 0.0.0.0 would).
            var endpoints = ListeningEndpoints(silo.Id);
            Assert.Contains($"127.0.0.1:{telemetryPort}", endpoints);
            Assert.All(endpoints, e => Assert.StartsWith("127.0.0.1:", e));
            Assert.False(await CanConnectAsync(IPAddress.Parse("127.0.0.2"), telemetryPort), "the telemetry endpoint answers on 127.0.0.2");
            Assert.False(silo.HasExited, silo.Tail());
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task The_embedded_silo_serves_metrics_and_health_when_enabled()
    {
        // What `rollout --telemetry.prometheus=true --telemetry.health=true` starts: the same endpoint in the command's process.
        var options = new TreePOOptions { Model = { Path = Repo.BuiltinModel } };
        options.Engine.Threads = 1;
        options.Telemetry.Prometheus = options.Telemetry.Health = true;
        options.Telemetry.Port = FreePorts.Take(1)[0];
        await using var silo = await TreePO.Hosting.EmbeddedSilo.StartAsync(options);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var ready = await ReadyAsync(http, TreePO.Hosting.Telemetry.TelemetryHosting.Url(options.Telemetry, "/health/ready"), TimeSpan.FromSeconds(60));
        Assert.Contains("hash", ready.GetProperty("checks").GetProperty("model").GetProperty("description").GetString());
        string metrics = await http.GetStringAsync(TreePO.Hosting.Telemetry.TelemetryHosting.Url(options.Telemetry, "/metrics"));
        Assert.Contains("\ntreepo_engine_tokens_total{", metrics);   // the engine the readiness probe activated
        Assert.Contains("otel_scope_name=\"Microsoft.Orleans\"", metrics);
    }

    [Fact]
    public void Telemetry_is_off_and_on_loopback_unless_configured_and_its_keys_are_checked()
    {
        var t = TreePOConfiguration.Load([]).Telemetry;
        Assert.False(t.Prometheus || t.Health || t.Otlp.Endpoint.Length > 0);
        Assert.Equal(("127.0.0.1", 9464), (t.Address, t.Port));
        Assert.Equal("0.0.0.0", TreePOConfiguration.Load(["--telemetry.address=0.0.0.0"]).Telemetry.Address);
        var otlp = TreePOConfiguration.Load(["--telemetry.otlp.endpoint=http://127.0.0.1:4318/v1/metrics", "--telemetry.otlp.protocol=httpprotobuf"]).Telemetry.Otlp;
        Assert.Equal(OtlpProtocol.HttpProtobuf, otlp.Protocol);

        var e = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load([
            "--telemetry.port=0", "--telemetry.address=localhost", "--telemetry.otlp.endpoint=collector:4317", "--telemetry.prometeus=true"]));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Telemetry:Port: must be a TCP port, got 0"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Telemetry:Address: 'localhost' is not an IP address"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Telemetry:Otlp:Endpoint: 'collector:4317' is not an http:// or https:// URL"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:telemetry:prometeus: unknown key"));
        var clash = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load([
            "--telemetry.health=true", "--telemetry.port=8080", "--cluster.dashboard.enabled=true"]));
        Assert.Contains(clash.Errors, x => x.StartsWith("TreePO:Telemetry:Port: 8080 is already Cluster:Dashboard:Port"));
    }

    static async Task<JsonElement> ReadyAsync(HttpClient http, string url, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await http.GetAsync(url);
            string body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK) return JsonDocument.Parse(body).RootElement.Clone();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            if (DateTime.UtcNow > deadline) Assert.Fail($"{url} not ready within {timeout}: {body}");
            await Task.Delay(500);
        }
    }

    static async Task RunClientAsync(string cwd, Dictionary<string, string> env, params string[] args)
    {
        using var client = ChildProcess.Dotnet("treepo-" + args[0], Repo.ClientDll, args, env, cwd);
        int rc = await client.WaitForExitAsync(TimeSpan.FromSeconds(180));
        Assert.True(rc == 0, client.Tail());
    }
}
