namespace TreePO.Core.Data;

/// <summary>How a row's reference answer is taken from its answer field.</summary>
public enum AnswerStyle
{
    /// <summary>The field's value (a string or a number).</summary>
    AsIs,
    /// <summary>GSM8K: the text after the last "#### ", thousands commas dropped ("#### 1,200" is 1200).</summary>
    AfterHashes,
    /// <summary>MATH: the content of the solution's last <c>\boxed{}</c>.</summary>
    LastBoxed,
}
