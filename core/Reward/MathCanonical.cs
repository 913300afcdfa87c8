using System.Text;

namespace TreePO.Core.Reward;

/// <summary>A canonical string of a parsed answer: equal strings mean the same tree (a cheap first test of
/// equivalence, and a key for grouping answers).</summary>
public static class MathCanonical
{
    public static string Of(MathNode node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    static void Write(StringBuilder sb, MathNode node)
    {
        switch (node)
        {
            case MathNumber n: sb.Append(n.Value.ToString()); break;
            case MathSymbol s: sb.Append(s.Name); break;
            case MathNegate g: sb.Append("-("); Write(sb, g.Operand); sb.Append(')'); break;
            case MathBinary b: sb.Append('('); Write(sb, b.Left); sb.Append(b.Op); Write(sb, b.Right); sb.Append(')'); break;
            case MathFunction f:
                sb.Append(f.Name).Append('(');
                Write(sb, f.Argument);
                if (f.Index is not null) { sb.Append(';'); Write(sb, f.Index); }
                sb.Append(')');
                break;
            case MathBracket t: sb.Append(t.Open); List(sb, t.Items); sb.Append(t.Close); break;
            case MathSet st: sb.Append("set{"); List(sb, st.Items); sb.Append('}'); break;
            case MathAnswers a: sb.Append("answers{"); List(sb, a.Items); sb.Append('}'); break;
            case MathUnion u: sb.Append("union{"); List(sb, u.Parts); sb.Append('}'); break;
            case MathRelation r:
                sb.Append("rel{");
                for (int i = 0; i < r.Terms.Count; i++)
                {
                    if (i > 0) sb.Append(r.Ops[i - 1]);
                    Write(sb, r.Terms[i]);
                }
                sb.Append('}');
                break;
            case MathMatrix m:
                sb.Append("matrix{");
                foreach (var row in m.Rows) { List(sb, row); sb.Append(';'); }
                sb.Append('}');
                break;
            case MathText t: sb.Append("text{").Append(t.Text).Append('}'); break;
        }
    }

    static void List(StringBuilder sb, IReadOnlyList<MathNode> items)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(',');
            Write(sb, items[i]);
        }
    }
}
