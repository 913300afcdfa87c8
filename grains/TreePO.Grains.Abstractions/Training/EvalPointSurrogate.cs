using TreePO.Core.Eval;

namespace TreePO.Grains.Training;

// Held-out scores (core/Eval/EvalPoint.cs) cross the grain boundary as they are, inside a RunStatus: this surrogate
// tells Orleans how to write them.

[GenerateSerializer, Immutable, Alias("treepo.eval-point")]
public readonly record struct EvalPointSurrogate(
    [property: Id(0)] int Step,
    [property: Id(1)] double MeanAtK,
    [property: Id(2)] double MajAtK,
    [property: Id(3)] double PassAtK,
    [property: Id(4)] int Queries,
    [property: Id(5)] int K);

[RegisterConverter]
public sealed class EvalPointConverter : IConverter<EvalPoint, EvalPointSurrogate>
{
    public EvalPoint ConvertFromSurrogate(in EvalPointSurrogate s) => new(s.Step, s.MeanAtK, s.MajAtK, s.PassAtK, s.Queries, s.K);

    public EvalPointSurrogate ConvertToSurrogate(in EvalPoint e) => new(e.Step, e.MeanAtK, e.MajAtK, e.PassAtK, e.Queries, e.K);
}
