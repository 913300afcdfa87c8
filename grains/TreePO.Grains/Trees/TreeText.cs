using TreePO.Core.Trees;

namespace TreePO.Grains.Trees;

/// <summary>What trees need of the tokenizer: decoding (for the stop checks and the reward) and the EOS ids.
/// Registered in the silo's DI from the model's tokenizer.</summary>
public sealed record TreeText(ITextDecoder Decoder, IReadOnlySet<int> EosIds);
