namespace TreePO.Engine.Tokenizer;

/// <summary>
/// An entry of tokenizer.json's <c>added_tokens</c>: text that is always one id. <see cref="Special"/> tokens are the
/// ones <c>Decode(skipSpecial: true)</c> drops; Hugging Face matches special and non-special added tokens alike.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special);
