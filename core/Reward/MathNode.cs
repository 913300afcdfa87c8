namespace TreePO.Core.Reward;

/// <summary>
/// An answer parsed by <see cref="MathParser"/>. Scalars (numbers, symbols, operations, functions) are compared as
/// values or functions; structures (tuples, intervals, sets, unions, relations, matrices, several answers) are
/// compared part by part by <see cref="MathEquivalence"/>.
/// </summary>
public abstract record MathNode;

/// <summary>An exact number; <paramref name="Decimal"/> when it was written with a decimal point (then a comparison
/// allows rounding to 6 places).</summary>
public sealed record MathNumber(Rational Value, bool Decimal) : MathNode;

/// <summary>A variable (<c>x</c>, <c>a_37</c>, <c>alpha</c>) or a constant (<c>pi</c>, <c>e</c>, <c>i</c>, <c>inf</c>).</summary>
public sealed record MathSymbol(string Name) : MathNode
{
    public bool IsConstant => Name is "pi" or "e" or "i" or "inf";
}

/// <summary>A binary operation: one of + - * / ^.</summary>
public sealed record MathBinary(char Op, MathNode Left, MathNode Right) : MathNode;

public sealed record MathNegate(MathNode Operand) : MathNode;

/// <summary>A function: sin, cos, ..., ln, log (with <paramref name="Index"/> as base), sqrt (index as root degree),
/// exp, abs, floor, ceil, fact, binom (index as the upper argument).</summary>
public sealed record MathFunction(string Name, MathNode Argument, MathNode? Index = null) : MathNode;

/// <summary>Ordered items between brackets: a tuple or point <c>(1,2)</c>, an interval <c>[1,2)</c>, a vector.</summary>
public sealed record MathBracket(char Open, char Close, IReadOnlyList<MathNode> Items) : MathNode;

/// <summary>A set <c>\{...\}</c>: unordered, compared as a multiset.</summary>
public sealed record MathSet(IReadOnlyList<MathNode> Items) : MathNode;

/// <summary>Several answers (<c>6, 8</c>, <c>6 and 8</c>, a system of equations): unordered, as a multiset.</summary>
public sealed record MathAnswers(IReadOnlyList<MathNode> Items) : MathNode;

/// <summary>A union of intervals or sets: unordered.</summary>
public sealed record MathUnion(IReadOnlyList<MathNode> Parts) : MathNode;

/// <summary>An equation, inequality or chain: <c>Terms[0] Ops[0] Terms[1] ...</c>, ops among = &lt; &gt; &lt;= &gt;= != in.</summary>
public sealed record MathRelation(IReadOnlyList<MathNode> Terms, IReadOnlyList<string> Ops) : MathNode;

public sealed record MathMatrix(IReadOnlyList<IReadOnlyList<MathNode>> Rows) : MathNode;

/// <summary>An answer in words (a name, "yes", a choice such as <c>(B)</c>), compared as normalised text.</summary>
public sealed record MathText(string Text) : MathNode;
