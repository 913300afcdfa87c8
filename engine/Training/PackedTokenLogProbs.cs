using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>The tree-packed pass: ids and position ids [B, T] (int64), attention mask [B, T, T] (bool, true = may
/// attend), and for each scored token the flat index (b * T + t) of the position that predicts it and its id, both
/// [N]; returns the [N] log-probs (see <see cref="PackedBatch"/>).</summary>
public delegate Tensor PackedTokenLogProbs(Tensor inputIds, Tensor positions, Tensor mask, Tensor rows, Tensor targets);
