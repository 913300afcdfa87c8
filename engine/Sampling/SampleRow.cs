using TreePO.Core.Trees;
using TreePO.Core.Protocol;

namespace TreePO.Engine.Sampling;

/// <summary>One token to draw: from logits row <see cref="LogitRow"/>, with its settings and its uniform draw.</summary>
public readonly record struct SampleRow(int LogitRow, SamplingParams Params, double Uniform);
