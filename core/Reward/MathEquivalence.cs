using System.Diagnostics;
using System.Numerics;

namespace TreePO.Core.Reward;

/// <summary>
/// Whether two answers mean the same (docs/reward.md). Both are parsed by <see cref="MathParser"/>; then
/// <list type="bullet">
/// <item>scalars: equal exact rationals; or, when a side was written with a decimal point, equal after rounding to 6
/// places; or equal complex values at <see cref="Points"/> seeded random points of the free variables (relative
/// tolerance 1e-9), so <c>(x+1)^2</c> matches <c>x^2+2x+1</c>;</item>
/// <item>tuples, points and intervals in order, with the same brackets (an open interval is not a closed one);
/// sets, unions and several answers as multisets; matrices entry by entry;</item>
/// <item>an equation <c>x=3</c> against a value <c>3</c> when its left side is a variable (or a tuple of them);
/// two equations when their sides match (either way round) or their differences are proportional; inequalities
/// when their normalised sides <c>f &lt; 0</c> are positive multiples with the same strictness;</item>
/// <item>answers that are not mathematics as normalised text.</item>
/// </list>
/// Conservative: what it cannot decide is not equivalent. Never throws; a comparison past its time limit is false.
/// </summary>
public static class MathEquivalence
{
    /// <summary>Random points per numeric identity test.</summary>
    public const int Points = 6;
    const int MinValidPoints = 3;
    const int MaxVariables = 8;
    const double Tolerance = 1e-9;

    /// <summary>Wall-clock limit of one comparison, a safety net behind the deterministic step budget
    /// (<see cref="MathEvaluator.MaxSteps"/>): generous, so that a loaded machine does not change a verdict.</summary>
    public static readonly TimeSpan DefaultTimeLimit = TimeSpan.FromSeconds(1);

    /// <summary>Fixed seed of the random points: the reward is a pure function of its two answers.</summary>
    const int PointSeed = 20_261_204;

    public static bool AreEquivalent(string? prediction, string? truth, TimeSpan? timeLimit = null)
    {
        if (prediction is null || truth is null) return false;
        try
        {
            return AreEquivalent(MathParser.Parse(prediction), MathParser.Parse(truth), timeLimit);
        }
        catch (Exception)
        {
            // A comparison must never take a batch down; the parser is exception-free, this guards the rest.
            return false;
        }
    }

    public static bool AreEquivalent(MathNode a, MathNode b, TimeSpan? timeLimit = null)
    {
        if (a is MathText { Text.Length: 0 } || b is MathText { Text.Length: 0 }) return false;
        try
        {
            var comparer = new Comparer(new MathEvaluator(Stopwatch.StartNew(), timeLimit ?? DefaultTimeLimit));
            return comparer.Equal(a, b);
        }
        catch (Exception)
        {
            return false;
        }
    }

    sealed class Comparer(MathEvaluator eval)
    {
        public bool Equal(MathNode a, MathNode b)
        {
            if (MathCanonical.Of(a) == MathCanonical.Of(b)) return true;
            switch (a, b)
            {
                case (MathText ta, MathText tb): return ta.Text == tb.Text;
                case (MathText, _) or (_, MathText): return false;
                case (MathRelation ra, MathRelation rb):
                    return Relations(ra, rb)
                        || (AsInterval(ra) is { } ia && AsInterval(rb) is { } ib && ia.Variable == ib.Variable && Equal(ia.Interval, ib.Interval));
                case (MathRelation ra, _): return (Solved(ra) ?? AsInterval(ra)?.Interval) is { } va && Equal(va, b);
                case (_, MathRelation rb): return (Solved(rb) ?? AsInterval(rb)?.Interval) is { } vb && Equal(a, vb);
                case (MathBracket ba, MathBracket bb):
                    return ba.Open == bb.Open && ba.Close == bb.Close && Ordered(ba.Items, bb.Items);
                case (MathSet sa, MathSet sb): return Multiset(sa.Items, sb.Items);
                case (MathAnswers aa, MathAnswers ab): return Multiset(aa.Items, ab.Items);
                case (MathSet sa, MathAnswers ab): return Multiset(sa.Items, ab.Items);
                case (MathAnswers aa, MathSet sb): return Multiset(aa.Items, sb.Items);
                case (MathUnion ua, MathUnion ub): return Multiset(ua.Parts, ub.Parts);
                case (MathMatrix ma, MathMatrix mb):
                    return ma.Rows.Count == mb.Rows.Count && ma.Rows.Zip(mb.Rows).All(p => Ordered(p.First, p.Second));
            }
            return IsScalar(a) && IsScalar(b) && Scalars(a, b);
        }

        static bool IsScalar(MathNode n) => n is MathNumber or MathSymbol or MathNegate or MathBinary or MathFunction;

        bool Ordered(IReadOnlyList<MathNode> a, IReadOnlyList<MathNode> b)
        {
            if (a.Count != b.Count) return false;
            for (int i = 0; i < a.Count; i++) if (!Equal(a[i], b[i])) return false;
            return true;
        }

        bool Multiset(IReadOnlyList<MathNode> a, IReadOnlyList<MathNode> b)
        {
            if (a.Count != b.Count) return false;
            var used = new bool[b.Count];
            foreach (MathNode x in a)
            {
                int match = -1;
                for (int j = 0; j < b.Count && match < 0; j++) if (!used[j] && Equal(x, b[j])) match = j;
                if (match < 0) return false;
                used[match] = true;
            }
            return true;
        }

        /// <summary>The value an equation states for its unknowns: <c>x=3</c>, <c>a_{37}=19</c>, <c>(p,q)=(3,2)</c>,
        /// <c>x \in [1,2]</c>; null when the left side is not a variable (or a tuple of variables).</summary>
        static MathNode? Solved(MathRelation r)
        {
            if (r.Terms.Count != 2 || r.Ops[0] is not ("=" or "in")) return null;
            if (IsUnknown(r.Terms[0])) return r.Terms[1];
            if (r.Ops[0] == "=" && IsUnknown(r.Terms[1]) && !IsUnknown(r.Terms[0])) return r.Terms[0];
            return null;
        }

        /// <summary>The interval a one-variable inequality or chain states: <c>x &lt; 1</c> is <c>(-\infty, 1)</c>,
        /// <c>1 &lt; x \le 3</c> is <c>(1, 3]</c>, <c>x \in [1,2]</c> is <c>[1,2]</c>; null for anything else.</summary>
        static (string Variable, MathNode Interval)? AsInterval(MathRelation r)
        {
            var (terms, ops) = Ascending(r);
            MathNode inf = new MathSymbol("inf"), minusInf = new MathNegate(new MathSymbol("inf"));
            if (terms.Count == 2 && ops[0] == "in" && terms[0] is MathSymbol { IsConstant: false } v0 && terms[1] is MathBracket)
                return (v0.Name, terms[1]);
            if (!ops.All(o => o is "<" or "<=")) return null;
            char Open(string op) => op == "<" ? '(' : '[';
            char Close(string op) => op == "<" ? ')' : ']';
            if (terms.Count == 2 && terms[0] is MathSymbol { IsConstant: false } x && IsBound(terms[1]))
                return (x.Name, new MathBracket('(', Close(ops[0]), [minusInf, terms[1]]));
            if (terms.Count == 2 && terms[1] is MathSymbol { IsConstant: false } y && IsBound(terms[0]))
                return (y.Name, new MathBracket(Open(ops[0]), ')', [terms[0], inf]));
            if (terms.Count == 3 && terms[1] is MathSymbol { IsConstant: false } z && IsBound(terms[0]) && IsBound(terms[2]))
                return (z.Name, new MathBracket(Open(ops[0]), Close(ops[1]), [terms[0], terms[2]]));
            return null;
        }

        static bool IsBound(MathNode n)
        {
            if (!IsScalar(n)) return false;
            var names = new SortedSet<string>(StringComparer.Ordinal);
            Variables(n, names);
            return names.Count == 0;
        }

        static bool IsUnknown(MathNode n) => n switch
        {
            MathSymbol s => !s.IsConstant,
            MathBracket b => b.Items.All(i => i is MathSymbol { IsConstant: false }),
            _ => false,
        };

        bool Relations(MathRelation a, MathRelation b)
        {
            if (a.Terms.Count != b.Terms.Count) return false;
            if (a.Terms.Count == 2)
            {
                string oa = a.Ops[0], ob = b.Ops[0];
                if (oa is "=" or "!=" or "in" && ob == oa)
                {
                    if (Equal(a.Terms[0], b.Terms[0]) && Equal(a.Terms[1], b.Terms[1])) return true;
                    if (oa != "in" && Equal(a.Terms[0], b.Terms[1]) && Equal(a.Terms[1], b.Terms[0])) return true;
                    return oa != "in" && AllScalar(a, b)
                        && Proportional(Difference(a.Terms[0], a.Terms[1]), Difference(b.Terms[0], b.Terms[1]), positiveOnly: false);
                }
                if (Inequality(a) is { } ia && Inequality(b) is { } ib)
                    return ia.Strict == ib.Strict && AllScalar(a, b) && Proportional(ia.Form, ib.Form, positiveOnly: true);
                return false;
            }
            // Chains (1 < x < 3): both read in ascending order, then term by term.
            var (ta, pa) = Ascending(a);
            var (tb, pb) = Ascending(b);
            return pa.SequenceEqual(pb) && Ordered(ta, tb);
        }

        static bool AllScalar(MathRelation a, MathRelation b) => a.Terms.Concat(b.Terms).All(IsScalar);

        static MathNode Difference(MathNode l, MathNode r) => new MathBinary('-', l, r);

        /// <summary><c>l &lt; r</c> as <c>l - r &lt; 0</c>; <c>l &gt; r</c> as <c>r - l &lt; 0</c>.</summary>
        static (MathNode Form, bool Strict)? Inequality(MathRelation r) => r.Ops[0] switch
        {
            "<" => (Difference(r.Terms[0], r.Terms[1]), true),
            "<=" => (Difference(r.Terms[0], r.Terms[1]), false),
            ">" => (Difference(r.Terms[1], r.Terms[0]), true),
            ">=" => (Difference(r.Terms[1], r.Terms[0]), false),
            _ => null,
        };

        static (IReadOnlyList<MathNode> Terms, IReadOnlyList<string> Ops) Ascending(MathRelation r)
        {
            if (!r.Ops.All(o => o is ">" or ">=")) return (r.Terms, r.Ops);
            return (r.Terms.Reverse().ToList(), r.Ops.Reverse().Select(o => o == ">" ? "<" : "<=").ToList());
        }

        bool Scalars(MathNode a, MathNode b)
        {
            if (ContainsInfinity(a) || ContainsInfinity(b)) return false; // only the same written form (checked above)
            Rational? ea = eval.Exact(a), eb = eval.Exact(b);
            bool decimals = HasDecimal(a) || HasDecimal(b);
            if (ea is { } xa && eb is { } xb)
                return xa == xb || (decimals && Math.Round(xa.ToDouble(), 6) == Math.Round(xb.ToDouble(), 6));
            var names = new SortedSet<string>(StringComparer.Ordinal);
            Variables(a, names);
            Variables(b, names);
            if (names.Count > MaxVariables) return false;
            if (names.Count == 0)
            {
                Complex va = eval.Numeric(a, Empty), vb = eval.Numeric(b, Empty);
                if (!Finite(va) || !Finite(vb)) return false;
                if (decimals && Math.Abs(va.Imaginary) < 1e-12 && Math.Abs(vb.Imaginary) < 1e-12)
                    return Math.Round(va.Real, 6) == Math.Round(vb.Real, 6);
                return Close(va, vb, Tolerance);
            }
            int valid = 0;
            foreach (var point in RandomPoints(names))
            {
                Complex va = eval.Numeric(a, point), vb = eval.Numeric(b, point);
                bool fa = Finite(va), fb = Finite(vb);
                if (fa != fb) return false;
                if (!fa) continue;
                if (!Close(va, vb, decimals ? 1e-6 : Tolerance)) return false;
                valid++;
            }
            return valid >= MinValidPoints;
        }

        /// <summary>Whether <c>f = c·g</c> for one constant c (non-zero; positive when <paramref name="positiveOnly"/>).</summary>
        bool Proportional(MathNode f, MathNode g, bool positiveOnly)
        {
            var names = new SortedSet<string>(StringComparer.Ordinal);
            Variables(f, names);
            Variables(g, names);
            if (names.Count == 0 || names.Count > MaxVariables) return false;
            Complex? ratio = null;
            int valid = 0;
            foreach (var point in RandomPoints(names))
            {
                Complex vf = eval.Numeric(f, point), vg = eval.Numeric(g, point);
                if (!Finite(vf) || !Finite(vg) || vg.Magnitude < 1e-12) continue;
                Complex r = vf / vg;
                if (r.Magnitude < 1e-12) return false;
                if (ratio is null) ratio = r;
                // Relative, not the absolute floor of Close: ratios of 1e-10 at every point are not one constant
                // (f = (1500a)^3 - a against g = a - 1 read as proportional one way round and not the other).
                else if ((r - ratio.Value).Magnitude > Tolerance * Math.Max(r.Magnitude, ratio.Value.Magnitude)) return false;
                valid++;
            }
            if (valid < MinValidPoints || ratio is null) return false;
            return !positiveOnly || (Math.Abs(ratio.Value.Imaginary) < 1e-12 && ratio.Value.Real > 0);
        }

        static readonly IReadOnlyDictionary<string, Complex> Empty = new Dictionary<string, Complex>();

        /// <summary>Values in ±[0.5, 2.5] (away from 0 and ±1, where distinct functions often agree), same for every
        /// comparison so that the reward is deterministic.</summary>
        static IEnumerable<Dictionary<string, Complex>> RandomPoints(SortedSet<string> names)
        {
            var rng = new Random(PointSeed);
            for (int p = 0; p < Points; p++)
            {
                var point = new Dictionary<string, Complex>(StringComparer.Ordinal);
                foreach (string name in names)
                    point[name] = (rng.Next(2) == 0 ? -1 : 1) * (0.5 + 2.0 * rng.NextDouble());
                yield return point;
            }
        }

        static bool Finite(Complex c) => double.IsFinite(c.Real) && double.IsFinite(c.Imaginary);

        static bool Close(Complex a, Complex b, double tolerance) =>
            (a - b).Magnitude <= tolerance * Math.Max(1.0, Math.Max(a.Magnitude, b.Magnitude));

        static void Variables(MathNode node, SortedSet<string> names)
        {
            switch (node)
            {
                case MathSymbol { IsConstant: false } s: names.Add(s.Name); break;
                case MathNegate n: Variables(n.Operand, names); break;
                case MathBinary b: Variables(b.Left, names); Variables(b.Right, names); break;
                case MathFunction f:
                    Variables(f.Argument, names);
                    if (f.Index is not null) Variables(f.Index, names);
                    break;
            }
        }

        static bool HasDecimal(MathNode node) => node switch
        {
            MathNumber n => n.Decimal,
            MathNegate n => HasDecimal(n.Operand),
            MathBinary b => HasDecimal(b.Left) || HasDecimal(b.Right),
            MathFunction f => HasDecimal(f.Argument) || (f.Index is not null && HasDecimal(f.Index)),
            _ => false,
        };

        static bool ContainsInfinity(MathNode node) => node switch
        {
            MathSymbol s => s.Name == "inf",
            MathNegate n => ContainsInfinity(n.Operand),
            MathBinary b => ContainsInfinity(b.Left) || ContainsInfinity(b.Right),
            MathFunction f => ContainsInfinity(f.Argument) || (f.Index is not null && ContainsInfinity(f.Index)),
            _ => false,
        };
    }
}
