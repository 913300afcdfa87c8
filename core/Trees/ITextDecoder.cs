namespace TreePO.Core.Trees;

/// <summary>Turns token ids into text (the boxed, EOS-with-answer and repetition checks work on text).</summary>
public interface ITextDecoder
{
    string Decode(IReadOnlyList<int> tokens);
}
