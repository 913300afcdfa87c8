// Over 400 lines: the run's one loop (start, step, evaluate, checkpoint, drain) and its state; recovery is apart.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using TreePO.Core.Advantage;
using TreePO.Core.Data;
using TreePO.Core.Eval;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Training;
using TreePO.Core.Trees;
using TreePO.Engine.Training;
using TreePO.Grains.Draining;
using TreePO.Grains.Engines;
using TreePO.Grains.Routing;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Training;

/// <summary>
/// The training loop of one run. Per step: draw queries (seeded, cursor saved in checkpoints), sample their trees
/// on the cluster (query-tree grains "{run}-s{step}/{query}", asking for the current policy version), apply the
/// query filter with extra rounds, train, make every engine pull the new version, log (and, with
/// <see cref="RunSpec.SaveTrees"/>, write the trained trees with their advantages), evaluate, checkpoint.
/// The loop runs as the grain's own task; callers poll <see cref="GetStatusAsync"/> (the grain is reentrant so
/// status never waits on the loop). Recovery without the client: RunGrain.Recovery.cs.
/// </summary>
[Reentrant, KeepAlive]
public sealed partial class RunGrain(EngineDirectory directory, TreeText text, IRewardFunction reward, IPromptEncoder encoder, ILogger<RunGrain> log,
    LocalRuns localRuns, [PersistentState("run", RunStorage.Name)] IPersistentState<RunRecord> stored, RunRecovery recovery)
    : Grain, IRunGrain
{
    /// <summary>Keys of a metrics line that differ between two runs of the same seed: timings, and what the engines
    /// found in their caches (a resumed run starts with cold caches).</summary>
    public static readonly string[] RunDependentKeys = ["tokens_per_s", "rollout_s", "train_s", "update_s", "sync_s", "eval_s", "wall_s",
        "prefill_tokens", "reused_tokens", "recomputed_tokens"];

    RunSpec? spec;
    TreeConfig config = new();
    QuerySource? data;
    RunLog? runLog;
    RunPhase phase = RunPhase.Created;
    int step, version, skippedRows, skippedPrompts, contextLimit, resumedFrom = -1;
    double wallBefore;
    readonly Stopwatch clock = new();
    readonly List<JsonObject> metrics = [];
    readonly List<EvalPoint> evals = [];
    readonly List<string> warnings = [];
    string? error;
    CancellationTokenSource? stop;
    HeldOutEvaluation? evaluation;
    double lastEvalSeconds;

    ITrainerGrain Trainer => GrainFactory.GetGrain<ITrainerGrain>(spec!.RunId);

    /// <summary>How long the cluster's training lease lasts without a renewal, and how often a running run renews it:
    /// a run whose silo died frees the cluster within a minute.</summary>
    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(60), LeaseRenewal = TimeSpan.FromSeconds(15);

    /// <summary>Trees of a step sampling at once, at most: a large step queues its trees here instead of starting
    /// every tree grain (and its first requests) together.</summary>
    public const int MaxTreesInFlight = 256;
    readonly SemaphoreSlim treeSlots = new(MaxTreesInFlight, MaxTreesInFlight);

    ITrainingLeaseGrain Lease => GrainFactory.GetGrain<ITrainingLeaseGrain>(ITrainingLeaseGrain.Cluster);
    IGrainTimer? leaseTimer;

    // For DrainAsync: the loop; the last step checkpointable now (logged, trainer not past it; -1 after a rollout), its cursor.
    Task? loop;
    bool draining;
    int consistentStep = -1, checkpointedStep;
    long cursorAtLog;

    public async Task<RunStatus> StartAsync(RunSpec runSpec, bool resume)
    {
        if (AlreadyRunning(runSpec)) return Status();
        if (phase is not (RunPhase.Created or RunPhase.Finished or RunPhase.Failed or RunPhase.Cancelled))
            throw new InvalidOperationException($"run {this.GetPrimaryKeyString()} is already running (phase {phase})");
        if (runSpec.RunId != this.GetPrimaryKeyString())
            throw new ArgumentException($"run spec is for '{runSpec.RunId}', this grain is '{this.GetPrimaryKeyString()}'");
        RunSpecCheck.EnsureValid(runSpec, 0);
        spec = runSpec;
        config = RunSpecCheck.TreeConfigOf(runSpec);
        phase = RunPhase.Starting;
        metrics.Clear(); evals.Clear(); warnings.Clear(); error = null;
        step = 0; version = 0; skippedRows = 0; skippedPrompts = 0; wallBefore = 0; resumedFrom = -1;
        draining = false; consistentStep = -1; checkpointedStep = 0;
        try
        {
            var held = await Lease.AcquireAsync(runSpec.RunId, directory.LocalSilo.Endpoint.ToString(), LeaseTtl);
            if (held.RunId != runSpec.RunId)
                throw new InvalidOperationException(
                    $"the cluster is already training run '{held.RunId}' (on silo {held.Silo}, since {held.SinceUtc:u}): one training run " +
                    "per cluster; wait for it to finish, cancel it, or train on another cluster");
            string modelDir = runSpec.ModelDir;
            RunState? state = null;
            if (resume)
            {
                (string latest, state) = RunState.LatestWithState(runSpec.RunDir, problem => Warn([problem]))
                    ?? throw new ArgumentException($"cannot resume: {runSpec.RunDir} has no complete checkpoint (checkpoints/step-K/{RunState.FileName})");
                if (state.Seed != runSpec.Seed) throw new ArgumentException($"cannot resume: the checkpoint's seed {state.Seed} differs from the run's {runSpec.Seed}");
                modelDir = latest;
                (step, version, skippedPrompts, wallBefore) = (state.Step, state.PolicyVersion, state.SkippedPrompts, state.WallSeconds);
                resumedFrom = state.Step;
                (consistentStep, checkpointedStep, cursorAtLog) = (state.Step, state.Step, state.DataCursor);
                metrics.AddRange(state.Metrics);
                evals.AddRange(state.Evals);
                log.LogInformation("run {Run} resumes from {Checkpoint} (step {Step}, version {Version})", runSpec.RunId, latest, step, version);
            }
            int modelContext = await Trainer.InitializeAsync(new TrainerSetup(modelDir, version, runSpec.Trainer));
            if (!resume) await EnsureEnginesServeAsync(modelDir);
            var engines = directory.GetEngines().Select(e => GrainFactory.GetGrain<IEngineGrain>(e.Key)).ToList();
            if (engines.Count == 0) throw new InvalidOperationException("the cluster has no engine to sample with");
            var stats = await Task.WhenAll(engines.Select(e => e.GetStatsAsync()));
            contextLimit = Math.Min(modelContext, stats.Min(s => s.MaxSequenceLength));
            RunSpecCheck.EnsureValid(runSpec, contextLimit);

            var fields = RunSpecCheck.DataFieldsOf(runSpec);
            // Reading and tokenizing the data set is file and CPU work: off the grain's scheduler.
            data = await Task.Run(() => QuerySource.OpenAsync(runSpec.DataPath, fields, runSpec.TaskLevel, runSpec.Seed, encoder, contextLimit - config.ResponseBudget));
            data.Cursor = state?.DataCursor ?? 0;
            skippedRows = data.RowErrors.Count;
            Warn(data.Notes);
            Warn(data.RowErrors);
            var (queries, problems, evalNotes) = await Task.Run(() => QuerySource.HeldOutAsync(runSpec.EvalDataPath, fields, runSpec.TaskLevel, runSpec.Seed,
                runSpec.EvalQueries, encoder, contextLimit - runSpec.EvalMaxTokens));
            if (queries.Count == 0) throw new ArgumentException($"no held-out query fits ({problems.Count} skipped{(problems.Count > 0 ? "; first: " + problems[0] : "")})");
            evaluation = new HeldOutEvaluation(GrainFactory, reward, text, runSpec, config.Sampling, queries);
            skippedRows += problems.Count;
            Warn(evalNotes);
            Warn(problems);

            Directory.CreateDirectory(runSpec.RunDir);
            string metricsPath = Path.Combine(runSpec.RunDir, "metrics.jsonl");
            if (!resume && File.Exists(metricsPath)) File.Delete(metricsPath);
            runLog = resume ? RunLog.Resume(runSpec.RunDir, step) : new RunLog(runSpec.RunDir);

            // Every engine starts from the trainer's weights, whatever it loaded at activation.
            await SyncEnginesAsync(force: true, CancellationToken.None);
        }
        catch (Exception e)
        {
            phase = RunPhase.Failed;
            error = e.Message;
            if (Trainer is { } t) await t.CloseAsync();
            await Lease.ReleaseAsync(runSpec.RunId);   // a no-op unless this run took it
            throw;
        }
        leaseTimer?.Dispose();
        leaseTimer = this.RegisterGrainTimer(RenewLeaseAsync, new GrainTimerCreationOptions(LeaseRenewal, LeaseRenewal) { Interleave = true });
        stop = new CancellationTokenSource();
        clock.Restart();
        loop = LoopAsync(resume, stop.Token);   // runs on this grain's scheduler, turn by turn
        localRuns.Add(runSpec.RunId);
        await RecoveryStartedAsync(runSpec);
        return Status();
    }

    public Task<RunStatus> GetStatusAsync() => Task.FromResult(Status());

    public Task CancelAsync()
    {
        stop?.Cancel();
        return Task.CompletedTask;
    }

    public async Task<string> DrainAsync()
    {
        if (loop is not { IsCompleted: false } running) return $"not running (phase {phase})";
        draining = true;
        stop?.Cancel();
        await running;   // the loop's end writes the checkpoint
        return checkpointedStep == step && step > 0 ? $"stopped at step {step}, checkpointed"
            : $"stopped during step {step + 1}: resumes from {(checkpointedStep > 0 ? $"the checkpoint of step {checkpointedStep}" : "the start")}";
    }

    async Task LoopAsync(bool resumed, CancellationToken ct)
    {
        var s = spec!;
        var outcome = RunPhase.Failed;
        try
        {
            if (!resumed)
            {
                var e0 = await EvaluateAsync(0, ct);
                var row = new Dictionary<string, object?>();
                AddEval(row, e0);
                Log(0, row);
            }
            while (step < s.Steps)
            {
                ct.ThrowIfCancellationRequested();
                await StepAsync(step + 1, ct);
            }
            outcome = RunPhase.Finished;
            WriteSummary();
            log.LogInformation("run {Run} finished after {Steps} steps", s.RunId, step);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            outcome = draining ? RunPhase.Drained : RunPhase.Cancelled;
        }
        catch (Exception e)
        {
            outcome = RunPhase.Failed;
            error = e.Message;
            log.LogError(e, "run {Run} failed at step {Step}", s.RunId, step + 1);
        }
        finally
        {
            if (outcome == RunPhase.Drained) await DrainCheckpointAsync();
            localRuns.Remove(s.RunId);
            try { await Trainer.CloseAsync(); } catch (Exception e) { log.LogWarning(e, "closing the trainer of {Run}", s.RunId); }
            leaseTimer?.Dispose();
            leaseTimer = null;
            if (outcome != RunPhase.Drained)   // a drained run lives on: where it resumes, it renews the lease
                try { await Lease.ReleaseAsync(s.RunId); } catch (Exception e) { log.LogWarning(e, "giving back the training lease of {Run}", s.RunId); }
            await RecoveryEndedAsync(outcome);
            phase = outcome;   // done only once the trainer is closed and the lease given back: the next run may start
        }
    }

    /// <summary>Keeps the cluster's training lease while the loop runs. Losing it to another run (the lease grain's
    /// silo died and a new run took it first) is reported, not acted on: both runs go on.</summary>
    async Task RenewLeaseAsync(CancellationToken cancellationToken)
    {
        if (spec is not { } s) return;
        try
        {
            var held = await Lease.AcquireAsync(s.RunId, directory.LocalSilo.Endpoint.ToString(), LeaseTtl);
            if (held.RunId != s.RunId)
                Warn([$"the cluster's training lease is held by run '{held.RunId}' (since {held.SinceUtc:u}): two runs share this cluster's engines"]);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "renewing the training lease of {Run}", s.RunId);
        }
    }

    async Task StepAsync(int n, CancellationToken ct)
    {
        var s = spec!;
        var stepClock = Stopwatch.StartNew();
        phase = RunPhase.Sampling;
        var filter = new QueryFilter(s.QueriesPerStep, s.MaxExtraRounds);
        var all = new List<SegmentTree>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        int skippedBefore = data!.SkippedPrompts.Count;
        var stepConfig = ScheduleStep.At(config, n, s.Steps);
        int returned = 0;
        do
        {
            // The first round oversamples (Filter:Oversample); later rounds ask for what is missing.
            int want = filter.Counts.Rounds == 0 ? (int)Math.Ceiling(s.QueriesPerStep * s.Oversample - 1e-9) : filter.Missing;
            // The queries after the one that fills the batch go back to the stream (the cursor a checkpoint saves),
            // so the data is never spent on trees not trained on.
            var drawn = data.Draw(want);
            var results = await Task.WhenAll(drawn.Queries.Select(async q =>
            {
                string name = q.Id;   // a query drawn twice in one step (a small dataset) gets its own tree
                for (int dup = 1; !used.Add(name); dup++) name = $"{q.Id}~{dup}";
                // Seeds derive from (run seed, step, query), never from the run's name: a resumed run or a copy
                // under another name samples the same trees.
                var job = TreeJob.For(q, stepConfig, SeedMix.Derive(s.Seed, "tree", n, name), version, s.RunId);
                await treeSlots.WaitAsync(ct);   // backpressure: at most MaxTreesInFlight trees sampling at once
                try { return await TreeAsk.Default.RunAsync(GrainFactory, $"{s.RunId}-s{n}/{name}", job, cancellationToken: ct); }   // asked again if its silo dies
                finally { treeSlots.Release(); }
            }));
            var trees = results.Select(r => TreeJson.Read(r.TreeLine)).ToList();
            all.AddRange(trees);
            returned += data.GiveBackAfter(drawn, filter.AddRoundUntilFull(trees));
        } while (filter.ShouldSampleMore);
        double rolloutSeconds = stepClock.Elapsed.TotalSeconds;
        consistentStep = -1;   // from here the run's counters and the trainer move past the last logged step
        int newSkipped = data.SkippedPrompts.Count - skippedBefore;
        skippedPrompts += newSkipped;
        Warn(data.SkippedPrompts.Skip(skippedBefore));

        var rolloutMetrics = BatchMetrics.Of(all);
        var row = StepMetrics.Rollout(rolloutMetrics, all, filter.Counts, version, newSkipped);
        row["filter_returned"] = returned;
        var batch = filter.Batch;
        double trainSeconds = 0, syncSeconds = 0;
        TrainStepReport? report = null;
        if (batch.Count > 0)
        {
            phase = RunPhase.Training;
            var t0 = stepClock.Elapsed.TotalSeconds;
            report = await Trainer.TrainAsync([.. batch.Select(TreeJson.Write)], SeedMix.Derive(s.Seed, "train", n), ct);
            trainSeconds = stepClock.Elapsed.TotalSeconds - t0;
            phase = RunPhase.Syncing;
            version = report.Version;
            await SyncEnginesAsync(force: false, ct);
            syncSeconds = stepClock.Elapsed.TotalSeconds - t0 - trainSeconds;
            report.AddMetricsTo(row);
            if (s.SaveTrees)
            {
                StepTrees.Apply(batch, report.RawAdvantages, report.Advantages, report.SegmentAdvantages);
                await StepTrees.WriteAsync(s.RunDir, n, batch, ct);
            }
        }
        else
        {
            row["trained"] = false;   // every query was all-correct or all-wrong: nothing to learn from this step
            log.LogWarning("run {Run} step {Step}: the filter kept no query; no update", s.RunId, n);
            if (s.SaveTrees) await StepTrees.WriteAsync(s.RunDir, n, [], ct);
        }
        step = n;
        row["rollout_s"] = rolloutSeconds;
        row["tokens_per_s"] = rolloutSeconds > 0 ? rolloutMetrics.GeneratedTokens / rolloutSeconds : 0.0;
        row["train_s"] = trainSeconds;
        row["sync_s"] = syncSeconds;
        TrainerMeters.Step(s.RunId, rolloutSeconds, report, trainSeconds, syncSeconds, version);

        bool last = n == s.Steps;
        if (last || (s.EvalEvery > 0 && n % s.EvalEvery == 0))
            AddEval(row, await EvaluateAsync(n, ct));
        Log(n, row);
        if (last || (s.CheckpointEvery > 0 && n % s.CheckpointEvery == 0))
            await CheckpointAsync(n);
    }

    async Task<EvalPoint> EvaluateAsync(int atStep, CancellationToken ct)
    {
        var previous = phase;
        phase = RunPhase.Evaluating;
        var clock = Stopwatch.StartNew();
        var point = await evaluation!.RunAsync(atStep, version, ct);
        evals.Add(point);
        lastEvalSeconds = clock.Elapsed.TotalSeconds;
        phase = previous;
        return point;
    }

    void AddEval(Dictionary<string, object?> row, EvalPoint e) => StepMetrics.AddEval(row, e, lastEvalSeconds);

    void Log(int atStep, Dictionary<string, object?> row)
    {
        row["wall_s"] = WallSeconds;
        runLog!.Write(atStep, row);
        (consistentStep, cursorAtLog) = (atStep, data!.Cursor);
        var obj = new JsonObject { ["step"] = atStep };
        foreach (var (k, v) in row) obj[k] = JsonSerializer.SerializeToNode(v);
        metrics.Add(obj);
    }

    async Task CheckpointAsync(int atStep, long? cursor = null)
    {
        var previous = phase;
        phase = RunPhase.Checkpointing;
        await RunCheckpoint.WriteAsync(spec!.RunDir, spec.ModelDir, new RunState(atStep, version, cursor ?? data!.Cursor, spec.Seed, skippedPrompts, WallSeconds,
            [.. metrics.Select(x => (JsonObject)x.DeepClone())], [.. evals]), Trainer.SaveCheckpointAsync);
        checkpointedStep = atStep;
        await RecoveryCheckpointedAsync(atStep);
        phase = previous;
    }

    /// <summary>A drained run's checkpoint of its last logged step, unless the trainer moved past it or it exists.</summary>
    async Task DrainCheckpointAsync()
    {
        if (consistentStep != step || step <= checkpointedStep) return;
        try { await CheckpointAsync(step, cursorAtLog); }
        catch (Exception e)
        {
            log.LogWarning(e, "run {Run} drained without its checkpoint of step {Step}: it resumes from step {Checkpointed}", spec!.RunId, step, checkpointedStep);
            return;
        }
        log.LogInformation("run {Run} drained: checkpoint of step {Step} written", spec!.RunId, step);
    }

    void WriteSummary() => RunSummary.Write(spec!.RunDir, spec.Identity, evals, step, WallSeconds, version, skippedRows, skippedPrompts, resumedFrom);

    /// <summary>A fresh run trains the model its engines serve: the same weights, config and tokenizer as this silo
    /// checked before joining (engines of silos with another model are already out of the directory). A resumed run
    /// starts from its own checkpoint, which its first start checked.</summary>
    async Task EnsureEnginesServeAsync(string modelDir)
    {
        if (directory.LocalModelHash is not { } served) return;
        string trained = await Task.Run(() => TreePO.Engine.Checkpoint.ModelHash.Of(modelDir));   // reads every weight: off the scheduler
        if (trained != served)
            throw new ArgumentException($"the run's model {modelDir} (hash {trained[..12]}) is not the model this cluster's engines serve " +
                $"(hash {served[..12]}, the silos' Model:Path): train the silos' model, or start the silos with --model.path={modelDir}");
    }

    Task SyncEnginesAsync(bool force, CancellationToken ct) =>
        new EngineSync(directory, GrainFactory, log, (WeightFanout?)ServiceProvider.GetService(typeof(WeightFanout))).SyncAllAsync(spec!.RunId, version, force, ct);

    double WallSeconds => wallBefore + clock.Elapsed.TotalSeconds;

    void Warn(IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            log.LogWarning("{Problem}", line);
            warnings.Add(line);
        }
        if (warnings.Count > 50) warnings.RemoveRange(0, warnings.Count - 50);
    }

    RunStatus Status() => new(this.GetPrimaryKeyString(), phase, step, spec?.Steps ?? 0, version,
        metrics.Count > 0 ? metrics[^1].ToJsonString() : null, [.. evals], spec is null ? 0 : WallSeconds,
        skippedRows, skippedPrompts, [.. warnings], error, directory.LocalSilo.Endpoint.ToString(), resumedFrom, RecordView());
}
