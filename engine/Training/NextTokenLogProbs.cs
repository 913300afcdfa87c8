using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>Given right-padded token ids [B, T], returns [B, T-1]: the log-prob of token t+1 after tokens 0..t,
/// with autograd when grad mode is on. The model computes it in chunks so the full vocabulary is never held for the
/// whole batch.</summary>
public delegate Tensor NextTokenLogProbs(Tensor inputIds);
