using System.Numerics;

namespace TreePO.Core.Reward;

/// <summary>An exact fraction in lowest terms with a positive denominator. Operations refuse results larger than
/// <see cref="MaxBits"/> bits so that no answer string can make the comparison slow.</summary>
public readonly record struct Rational
{
    public const int MaxBits = 2048;

    public BigInteger Numerator { get; }
    public BigInteger Denominator { get; }

    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException();
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        BigInteger g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsOne && !g.IsZero) { numerator /= g; denominator /= g; }
        if (numerator.GetBitLength() > MaxBits || denominator.GetBitLength() > MaxBits)
            throw new OverflowException("number too large to compare exactly");
        Numerator = numerator;
        Denominator = denominator;
    }

    public static Rational Zero => new(0, 1);
    public static Rational One => new(1, 1);
    public bool IsZero => Numerator.IsZero;
    public int Sign => Numerator.Sign;

    public static Rational operator +(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);
    public static Rational operator -(Rational a, Rational b) => a + -b;
    public static Rational operator *(Rational a, Rational b) => new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    public static Rational operator /(Rational a, Rational b) => new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    public double ToDouble() => Math.Exp(BigInteger.Log(BigInteger.Abs(Numerator)) - BigInteger.Log(Denominator)) * Numerator.Sign;

    /// <summary>Parses "123", "-4.50", ".5" exactly.</summary>
    public static Rational ParseDecimal(string digits)
    {
        bool negative = digits.StartsWith('-');
        if (negative) digits = digits[1..];
        int dot = digits.IndexOf('.');
        string whole = dot < 0 ? digits : digits[..dot];
        string frac = dot < 0 ? "" : digits[(dot + 1)..];
        if (whole.Length + frac.Length > 600) throw new OverflowException("number too long");
        BigInteger n = BigInteger.Parse((whole.Length == 0 ? "0" : whole) + frac, System.Globalization.CultureInfo.InvariantCulture);
        var r = new Rational(n, BigInteger.Pow(10, frac.Length));
        return negative ? -r : r;
    }

    public override string ToString() => Denominator.IsOne ? Numerator.ToString() : $"{Numerator}/{Denominator}";
}
