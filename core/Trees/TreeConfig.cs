using System.Text.Json.Serialization;
using TreePO.Core.Protocol;

namespace TreePO.Core.Trees;

/// <summary>
/// Everything that shapes one query's tree. Defaults are the authors' released training run (docs/paper.md §1), with
/// the faults of its code fixed (docs/paper.md §7): width 16, depth 14, segments of 512 tokens, b = 2, budget
/// transfer, even split, random segment-aligned fallback over boxed/EOS candidates, boxed-and-EOS first, repetition
/// last.
/// </summary>
public sealed record TreeConfig
{
    /// <summary>w: trajectories per query.</summary>
    public int Width { get; init; } = 16;
    /// <summary>d: the most segments on one path.</summary>
    public int Depth { get; init; } = 14;
    /// <summary>l: tokens per segment.</summary>
    [JsonPropertyName("segment_len")]
    public int SegmentLength { get; init; } = 512;
    /// <summary>b: branches per step (and per fallback candidate).</summary>
    public int Branch { get; init; } = 2;
    /// <summary>Lower end of the random first fork; -1 means b.</summary>
    public int InitDivergenceMin { get; init; } = -1;
    /// <summary>Upper end of the random first fork U{min..max}, capped at w; used only when greater than b
    /// ("More Init Divergence", 2..8 in the paper). -1: a fixed first fork of b.</summary>
    public int InitDivergenceMax { get; init; } = -1;
    /// <summary>The most response tokens on one path; -1 means d·l (7168 in the released run).</summary>
    public int MaxResponseTokens { get; init; } = -1;

    public BranchingPolicy Branching { get; init; } = BranchingPolicy.EvenSplit;
    public LogProbScore LogProbScore { get; init; } = LogProbScore.LastSegment;
    public LogProbDirection LogProbDirection { get; init; } = LogProbDirection.LowProbEncouraged;
    /// <summary>Softmax temperature of the log-prob policy under the constant schedule (paper: 2.0; code default 1.0).</summary>
    public double LogProbTemperature { get; init; } = 1.0;
    public TemperatureSchedule TemperatureSchedule { get; init; } = TemperatureSchedule.Constant;
    /// <summary>Lower end of a sinusoidal schedule (the paper's "Naive2Low": 1.0).</summary>
    public double TemperatureMin { get; init; } = 1.0;
    /// <summary>Upper end of a sinusoidal schedule (the paper's "Naive2Low": 5.0).</summary>
    public double TemperatureMax { get; init; } = 5.0;
    /// <summary>The training step the schedule is evaluated at.</summary>
    public int ScheduleStep { get; init; }
    /// <summary>The schedule's length in training steps.</summary>
    public int ScheduleTotalSteps { get; init; } = 1;

    public FallbackPolicy Fallback { get; init; } = FallbackPolicy.Random;
    public FallbackCandidatePolicy FallbackCandidates { get; init; } = FallbackCandidatePolicy.SoftBoxedAndEos;
    /// <summary>When positive, a fallback cuts at most this many segments back from a candidate's end.</summary>
    public int MaxFallbackWindow { get; init; } = -1;
    /// <summary>n of <see cref="FallbackCandidatePolicy.BoxedAtLeastNSegments"/>.</summary>
    public int BoxedMinSegments { get; init; } = 1;

    public BoxedStopPolicy BoxedStop { get; init; } = BoxedStopPolicy.BoxedAndEosFirst;
    public RepetitionPriority Repetition { get; init; } = RepetitionPriority.LeastPrioritized;
    /// <summary>Window of the repetition detector, in characters.</summary>
    public int RepetitionWindow { get; init; } = 32;
    /// <summary>How many occurrences of one window make a segment repetitive.</summary>
    public int RepetitionCount { get; init; } = 8;

    public SamplingParams Sampling { get; init; } = SamplingParams.Default;
    public SamplingMode Mode { get; init; } = SamplingMode.Tree;

    /// <summary>The response budget in tokens (resolves -1 to d·l).</summary>
    [JsonIgnore]
    public int ResponseBudget => MaxResponseTokens > 0 ? MaxResponseTokens : Depth * SegmentLength;

    /// <summary>The log-prob softmax temperature at <see cref="ScheduleStep"/>.</summary>
    [JsonIgnore]
    public double Temperature => TemperatureSchedule switch
    {
        TemperatureSchedule.Constant => LogProbTemperature,
        _ => SinusoidTemperature(),
    };

    double SinusoidTemperature()
    {
        double mid = (TemperatureMin + TemperatureMax) / 2, half = (TemperatureMax - TemperatureMin) / 2;
        double phase = Math.PI * Math.Clamp(ScheduleStep, 0, ScheduleTotalSteps) / Math.Max(1, ScheduleTotalSteps);
        double s = Math.Sin(phase + Math.PI / 2); // 1 at the start, -1 at the end
        return TemperatureSchedule == TemperatureSchedule.SinusoidDescending ? mid + half * s : mid - half * s;
    }

    /// <summary>Every problem with this configuration, each naming its option; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Width < 1) errors.Add($"Width (w) must be at least 1, got {Width}");
        if (Depth < 1) errors.Add($"Depth (d) must be at least 1, got {Depth}");
        if (SegmentLength < 1) errors.Add($"SegmentLength (l) must be at least 1, got {SegmentLength}");
        if (Branch < 1) errors.Add($"Branch (b) must be at least 1, got {Branch}");
        if (InitDivergenceMax > 0 && InitDivergenceMin > InitDivergenceMax)
            errors.Add($"InitDivergenceMin ({InitDivergenceMin}) must not exceed InitDivergenceMax ({InitDivergenceMax})");
        if (InitDivergenceMin is 0 or < -1) errors.Add($"InitDivergenceMin must be -1 (= b) or at least 1, got {InitDivergenceMin}");
        if (InitDivergenceMax is 0 or < -1) errors.Add($"InitDivergenceMax must be -1 (off) or at least 1, got {InitDivergenceMax}");
        if (MaxResponseTokens is 0 or < -1) errors.Add($"MaxResponseTokens must be -1 (= d*l) or at least 1, got {MaxResponseTokens}");
        if (Branching == BranchingPolicy.LogProb && TemperatureSchedule == TemperatureSchedule.Constant && !(LogProbTemperature > 0))
            errors.Add($"LogProbTemperature must be positive, got {LogProbTemperature}");
        if (Branching == BranchingPolicy.LogProb && TemperatureSchedule != TemperatureSchedule.Constant)
        {
            if (!(TemperatureMin > 0)) errors.Add($"TemperatureMin must be positive, got {TemperatureMin}");
            if (!(TemperatureMax >= TemperatureMin)) errors.Add($"TemperatureMax ({TemperatureMax}) must be at least TemperatureMin ({TemperatureMin})");
        }
        if (ScheduleTotalSteps < 1) errors.Add($"ScheduleTotalSteps must be at least 1, got {ScheduleTotalSteps}");
        if (ScheduleStep < 0) errors.Add($"ScheduleStep must not be negative, got {ScheduleStep}");
        if (MaxFallbackWindow is 0 or < -1) errors.Add($"MaxFallbackWindow must be -1 (off) or at least 1, got {MaxFallbackWindow}");
        if (BoxedMinSegments < 1) errors.Add($"BoxedMinSegments must be at least 1, got {BoxedMinSegments}");
        if (RepetitionWindow < 1) errors.Add($"RepetitionWindow must be at least 1, got {RepetitionWindow}");
        if (RepetitionCount < 2) errors.Add($"RepetitionCount must be at least 2, got {RepetitionCount}");
        if (!Enum.IsDefined(Branching)) errors.Add($"Branching has an unknown value {(int)Branching}");
        if (!Enum.IsDefined(Fallback)) errors.Add($"Fallback has an unknown value {(int)Fallback}");
        if (!Enum.IsDefined(FallbackCandidates)) errors.Add($"FallbackCandidates has an unknown value {(int)FallbackCandidates}");
        if (!Enum.IsDefined(Mode)) errors.Add($"Mode has an unknown value {(int)Mode}");
        if (Sampling is null) errors.Add("Sampling must be set");
        else
        {
            if (!(Sampling.Temperature >= 0)) errors.Add($"Sampling.Temperature must not be negative, got {Sampling.Temperature}");
            if (!(Sampling.TopP > 0)) errors.Add($"Sampling.TopP must be positive, got {Sampling.TopP}");
        }
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem when the configuration is invalid.</summary>
    public TreeConfig EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid tree configuration: " + string.Join("; ", errors));
        return this;
    }
}
