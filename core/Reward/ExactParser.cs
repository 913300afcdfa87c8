namespace TreePO.Core.Reward;

/// <summary>
/// A small recursive-descent parser from a normalised answer to an <see cref="ExactValue"/>: numbers, + - * /,
/// implicit products (<c>2\sqrt{3}</c>), parentheses and braces, <c>\frac{a}{b}</c>, <c>\sqrt{x}</c>, integer powers.
/// Anything else (variables, intervals, \pi) is not a number and the caller compares text instead. Only the legacy
/// reading uses it (<see cref="LegacyMathEquivalence"/>).
/// </summary>
public sealed class ExactParser
{
    const int MaxLength = 400;
    const int MaxNesting = 64;

    readonly string _s;
    int _pos;
    int _nesting;

    /// <summary>True when some literal in the input was written with a decimal point (then the comparison allows
    /// rounding to 6 places, as math_verify does for floats).</summary>
    public bool HasDecimal { get; private set; }

    ExactParser(string s) => _s = s;

    public static bool TryParse(string normalized, out ExactValue value, out bool hasDecimal)
    {
        value = default;
        hasDecimal = false;
        if (string.IsNullOrEmpty(normalized) || normalized.Length > MaxLength) return false;
        var p = new ExactParser(normalized);
        try
        {
            value = p.ParseSum();
            hasDecimal = p.HasDecimal;
            return p._pos == p._s.Length;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArithmeticException or NotSupportedException)
        {
            return false;
        }
    }

    ExactValue ParseSum()
    {
        ExactValue v = ParseProduct();
        while (_pos < _s.Length && (_s[_pos] == '+' || _s[_pos] == '-'))
        {
            char op = _s[_pos++];
            ExactValue r = ParseProduct();
            v = op == '+' ? v + r : v - r;
        }
        return v;
    }

    ExactValue ParseProduct()
    {
        ExactValue v = ParseUnary();
        while (_pos < _s.Length)
        {
            char c = _s[_pos];
            if (c == '*') { _pos++; v *= ParseUnary(); }
            else if (c == '/') { _pos++; v /= ParseUnary(); }
            else if (StartsPrimary()) v *= ParsePower(); // implicit product: 2\sqrt{3}, 3(4)
            else break;
        }
        return v;
    }

    bool StartsPrimary()
    {
        char c = _s[_pos];
        return c == '(' || c == '{' || At("\\sqrt") || At("\\frac");
    }

    ExactValue ParseUnary()
    {
        if (_pos < _s.Length && _s[_pos] == '-') { _pos++; return -ParseUnary(); }
        if (_pos < _s.Length && _s[_pos] == '+') { _pos++; return ParseUnary(); }
        return ParsePower();
    }

    ExactValue ParsePower()
    {
        ExactValue b = ParsePrimary();
        if (_pos < _s.Length && _s[_pos] == '^')
        {
            _pos++;
            ExactValue e = _pos < _s.Length && _s[_pos] == '{' ? Group() : Digit();
            if (!e.IsRational || !e.Coefficient.Denominator.IsOne) throw new NotSupportedException("non-integer power");
            if (System.Numerics.BigInteger.Abs(e.Coefficient.Numerator) > 64) throw new OverflowException("exponent too large");
            b = b.Pow((int)e.Coefficient.Numerator);
        }
        return b;
    }

    ExactValue ParsePrimary()
    {
        if (_pos >= _s.Length) throw new FormatException("unexpected end");
        char c = _s[_pos];
        if (char.IsAsciiDigit(c) || c == '.') return Number();
        if (c == '(') return Enclosed('(', ')');
        if (c == '{') return Group();
        if (At("\\frac"))
        {
            _pos += 5;
            ExactValue num = Group();
            ExactValue den = Group();
            return num / den;
        }
        if (At("\\sqrt"))
        {
            _pos += 5;
            ExactValue x = _pos < _s.Length && _s[_pos] == '{' ? Group() : Digit();
            if (!x.IsRational) throw new NotSupportedException("nested radical");
            return ExactValue.Sqrt(x.Coefficient);
        }
        throw new FormatException("not a number");
    }

    ExactValue Group() => Enclosed('{', '}');

    ExactValue Enclosed(char open, char close)
    {
        if (_pos >= _s.Length || _s[_pos] != open) throw new FormatException($"expected {open}");
        if (++_nesting > MaxNesting) throw new FormatException("nested too deeply");
        _pos++;
        ExactValue v = ParseSum();
        if (_pos >= _s.Length || _s[_pos] != close) throw new FormatException($"expected {close}");
        _pos++;
        _nesting--;
        return v;
    }

    ExactValue Digit()
    {
        if (_pos >= _s.Length || !char.IsAsciiDigit(_s[_pos])) throw new FormatException("expected a digit");
        return ExactValue.FromRational(new Rational(_s[_pos++] - '0', 1));
    }

    ExactValue Number()
    {
        int start = _pos;
        bool dot = false;
        while (_pos < _s.Length && (char.IsAsciiDigit(_s[_pos]) || (_s[_pos] == '.' && !dot)))
        {
            if (_s[_pos] == '.') dot = true;
            _pos++;
        }
        string text = _s[start.._pos];
        if (text == ".") throw new FormatException("lone dot");
        if (dot) HasDecimal = true;
        return ExactValue.FromRational(Rational.ParseDecimal(text.EndsWith('.') ? text[..^1] : text));
    }

    bool At(string token) => string.CompareOrdinal(_s, _pos, token, 0, token.Length) == 0;
}
