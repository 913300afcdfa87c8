using System.Diagnostics;
using System.Numerics;

namespace TreePO.Core.Reward;

/// <summary>
/// Values of scalar <see cref="MathNode"/>s: exact rationals where the expression allows (numbers, + - * /, integer
/// powers, factorials, binomials), else complex doubles at given values of the free variables (so that
/// <c>\sqrt{x^2}</c> differs from <c>x</c> at negative points and logs of negatives stay defined). Evaluation stops
/// with a <see cref="TimeoutException"/> once the comparison's step budget or deadline is spent.
/// </summary>
public sealed class MathEvaluator(Stopwatch clock, TimeSpan limit)
{
    const int MaxExactExponent = 4096;
    const int MaxExactFactorial = 200;

    /// <summary>Evaluation steps one comparison may take: the deterministic bound (the same verdict on a loaded
    /// machine); the wall-clock limit is only a safety net.</summary>
    public const int MaxSteps = 200_000;

    int _steps;

    void CheckTime()
    {
        if (++_steps > MaxSteps) throw new TimeoutException("comparison step limit");
        if ((_steps & 255) == 0 && clock.Elapsed > limit) throw new TimeoutException("comparison time limit");
    }

    /// <summary>The exact value, or null when the expression is not a plain rational number.</summary>
    public Rational? Exact(MathNode node)
    {
        try
        {
            return ExactOrThrow(node);
        }
        catch (Exception e) when (e is ArithmeticException or NotSupportedException)
        {
            return null;
        }
    }

    Rational? ExactOrThrow(MathNode node)
    {
        CheckTime();
        switch (node)
        {
            case MathNumber n: return n.Value;
            case MathNegate neg: return ExactOrThrow(neg.Operand) is { } v ? -v : null;
            case MathBinary b:
                {
                    if (ExactOrThrow(b.Left) is not { } l || ExactOrThrow(b.Right) is not { } r) return null;
                    switch (b.Op)
                    {
                        case '+': return l + r;
                        case '-': return l - r;
                        case '*': return l * r;
                        case '/': return r.IsZero ? null : l / r;
                        case '^':
                            if (!r.Denominator.IsOne || BigInteger.Abs(r.Numerator) > MaxExactExponent) return null;
                            if (l.IsZero) return r.Sign > 0 ? Rational.Zero : null;
                            int e = (int)BigInteger.Abs(r.Numerator);
                            // Refused before computing when the result would exceed the rational's size limit.
                            if ((long)Math.Max(l.Numerator.GetBitLength(), l.Denominator.GetBitLength()) * e > Rational.MaxBits + 64) return null;
                            var power = new Rational(BigInteger.Pow(l.Numerator, e), BigInteger.Pow(l.Denominator, e));
                            return r.Sign < 0 ? Rational.One / power : power;
                        default: return null;
                    }
                }
            case MathFunction { Name: "fact" } f:
                {
                    if (ExactOrThrow(f.Argument) is not { } n || !n.Denominator.IsOne || n.Sign < 0 || n.Numerator > MaxExactFactorial) return null;
                    BigInteger p = 1;
                    for (int i = 2; i <= (int)n.Numerator; i++) p *= i;
                    return new Rational(p, 1);
                }
            case MathFunction { Name: "binom" } f when f.Index is not null:
                {
                    if (ExactOrThrow(f.Index) is not { } n || ExactOrThrow(f.Argument) is not { } k) return null;
                    if (!n.Denominator.IsOne || !k.Denominator.IsOne || n.Sign < 0 || k.Sign < 0 || k.Numerator > n.Numerator
                        || n.Numerator > 10_000) return null;
                    BigInteger c = 1;
                    int kk = (int)BigInteger.Min(k.Numerator, n.Numerator - k.Numerator), nn = (int)n.Numerator;
                    for (int i = 1; i <= kk; i++) c = c * (nn - kk + i) / i;
                    return new Rational(c, 1);
                }
            case MathFunction { Name: "abs" } f: return ExactOrThrow(f.Argument) is { } a ? (a.Sign < 0 ? -a : a) : null;
            default: return null;
        }
    }

    /// <summary>The complex value with the free variables set to <paramref name="values"/>; NaN where undefined.</summary>
    public Complex Numeric(MathNode node, IReadOnlyDictionary<string, Complex> values)
    {
        CheckTime();
        switch (node)
        {
            case MathNumber n: return n.Value.ToDouble();
            case MathSymbol s:
                return s.Name switch
                {
                    "pi" => Math.PI,
                    "e" => Math.E,
                    "i" => Complex.ImaginaryOne,
                    "inf" => double.PositiveInfinity,
                    _ => values.TryGetValue(s.Name, out Complex v) ? v : double.NaN,
                };
            case MathNegate neg: return -Numeric(neg.Operand, values);
            case MathBinary b:
                {
                    Complex l = Numeric(b.Left, values), r = Numeric(b.Right, values);
                    return b.Op switch
                    {
                        '+' => l + r,
                        '-' => l - r,
                        '*' => l * r,
                        '/' => r == Complex.Zero ? double.NaN : l / r,
                        '^' => Power(l, r),
                        _ => double.NaN,
                    };
                }
            case MathFunction f: return Function(f, values);
            default: return double.NaN;
        }
    }

    static Complex Power(Complex b, Complex e)
    {
        // Integer powers of negative reals stay real (Complex.Pow goes through logs).
        if (e.Imaginary == 0 && e.Real == Math.Round(e.Real) && Math.Abs(e.Real) <= 1000)
        {
            if (b == Complex.Zero) return e.Real > 0 ? Complex.Zero : e.Real == 0 ? Complex.One : double.NaN;
            if (b.Imaginary == 0) return Math.Pow(b.Real, e.Real);
            return Complex.Pow(b, (int)e.Real);
        }
        if (b == Complex.Zero) return e.Real > 0 ? Complex.Zero : double.NaN;
        // A real odd root of a negative real (x^{1/3} of -8 is -2) is what a math answer means.
        if (b.Imaginary == 0 && b.Real < 0 && e.Imaginary == 0)
        {
            double inv = 1 / e.Real;
            if (Math.Abs(inv - Math.Round(inv)) < 1e-12 && ((long)Math.Round(inv)) % 2 != 0) return -Math.Pow(-b.Real, e.Real);
        }
        return Complex.Pow(b, e);
    }

    Complex Function(MathFunction f, IReadOnlyDictionary<string, Complex> values)
    {
        Complex x = Numeric(f.Argument, values);
        switch (f.Name)
        {
            case "sqrt":
                if (f.Index is null) return Complex.Sqrt(x);
                Complex n = Numeric(f.Index, values);
                return n == Complex.Zero ? double.NaN : Power(x, 1 / n);
            case "sin": return Complex.Sin(x);
            case "cos": return Complex.Cos(x);
            case "tan": return Complex.Tan(x);
            case "sec": return 1 / Complex.Cos(x);
            case "csc": return 1 / Complex.Sin(x);
            case "cot": return Complex.Cos(x) / Complex.Sin(x);
            case "arcsin": return Complex.Asin(x);
            case "arccos": return Complex.Acos(x);
            case "arctan": return Complex.Atan(x);
            case "sinh": return Complex.Sinh(x);
            case "cosh": return Complex.Cosh(x);
            case "tanh": return Complex.Tanh(x);
            case "exp": return Complex.Exp(x);
            case "ln": return x == Complex.Zero ? double.NaN : Complex.Log(x);
            case "log":
                {
                    if (x == Complex.Zero) return double.NaN;
                    Complex b = f.Index is null ? 10 : Numeric(f.Index, values);
                    return Complex.Log(x) / Complex.Log(b);
                }
            case "abs": return Complex.Abs(x);
            case "floor": return x.Imaginary == 0 ? Math.Floor(x.Real) : double.NaN;
            case "ceil": return x.Imaginary == 0 ? Math.Ceiling(x.Real) : double.NaN;
            case "fact":
                return x.Imaginary == 0 && x.Real >= 0 && x.Real == Math.Round(x.Real) && x.Real <= 170 ? Factorial((int)x.Real) : double.NaN;
            case "binom":
                {
                    Complex nn = f.Index is null ? double.NaN : Numeric(f.Index, values);
                    if (nn.Imaginary != 0 || x.Imaginary != 0 || nn.Real > 170 || x.Real < 0 || x.Real > nn.Real
                        || nn.Real != Math.Round(nn.Real) || x.Real != Math.Round(x.Real)) return double.NaN;
                    return Factorial((int)nn.Real) / (Factorial((int)x.Real) * Factorial((int)(nn.Real - x.Real)));
                }
            default: return double.NaN;
        }
    }

    static double Factorial(int n)
    {
        double p = 1;
        for (int i = 2; i <= n; i++) p *= i;
        return p;
    }
}
