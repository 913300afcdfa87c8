using TreePO.Core.Trees;

namespace TreePO.Hosting.Options;

/// <summary>
/// Tree sampling parameters (docs/paper.md), every field of the core <see cref="TreeConfig"/> a user sets;
/// <see cref="TreePOOptions.TreeConfig"/> maps them, with Sampling, onto it. Defaults are small enough for the
/// built-in model; the core defaults (the authors' run) are in docs/configuration.md.
/// </summary>
public sealed class TreeOptions
{
    /// <summary>w: trajectories per query.</summary>
    public int Width { get; set; } = 8;
    /// <summary>d: segments on one path at most.</summary>
    public int Depth { get; set; } = 4;
    /// <summary>l: tokens per segment.</summary>
    public int SegmentLength { get; set; } = 32;
    /// <summary>b: branches per fork.</summary>
    public int Branch { get; set; } = 2;
    /// <summary>Lower end of a random first fork; -1: b.</summary>
    public int InitDivergenceMin { get; set; } = -1;
    /// <summary>Upper end of a random first fork; -1: a fixed first fork of b.</summary>
    public int InitDivergenceMax { get; set; } = -1;
    /// <summary>Most response tokens on one path; -1: d·l.</summary>
    public int MaxResponseTokens { get; set; } = -1;

    public BranchingPolicy Branching { get; set; } = BranchingPolicy.EvenSplit;
    public LogProbScore LogProbScore { get; set; } = LogProbScore.LastSegment;
    public LogProbDirection LogProbDirection { get; set; } = LogProbDirection.LowProbEncouraged;
    public double LogProbTemperature { get; set; } = 1.0;
    public TemperatureSchedule TemperatureSchedule { get; set; } = TemperatureSchedule.Constant;
    public double TemperatureMin { get; set; } = 1.0;
    public double TemperatureMax { get; set; } = 5.0;
    /// <summary>The training step at which a sinusoidal schedule reaches its end (step 1 is its start); 1: the run's
    /// last step. `treepo train` keeps a value set here (core/Training/ScheduleStep.cs).</summary>
    public int ScheduleTotalSteps { get; set; } = 1;

    public FallbackPolicy Fallback { get; set; } = FallbackPolicy.Random;
    public FallbackCandidatePolicy FallbackCandidates { get; set; } = FallbackCandidatePolicy.SoftBoxedAndEos;
    public int MaxFallbackWindow { get; set; } = -1;
    public int BoxedMinSegments { get; set; } = 1;

    public BoxedStopPolicy BoxedStop { get; set; } = BoxedStopPolicy.BoxedAndEosFirst;
    public RepetitionPriority Repetition { get; set; } = RepetitionPriority.LeastPrioritized;
    public int RepetitionWindow { get; set; } = 32;
    public int RepetitionCount { get; set; } = 8;

    /// <summary>Tree, or Sequential (w independent samples sharing only the prompt).</summary>
    public SamplingMode Mode { get; set; } = SamplingMode.Tree;
}
