using System.Numerics;

namespace TreePO.Core.Reward;

/// <summary>
/// Recursive-descent parser from a LaTeX or plain-text math answer to a <see cref="MathNode"/>. The text is first
/// cleaned by <see cref="MathAnswerText.Clean"/> (boxes, <c>$</c>, <c>\left</c>, spacing, <c>\text{}</c>, units,
/// degrees, percent). Anything it cannot read as mathematics becomes a <see cref="MathText"/> (compared as text),
/// so parsing never fails and never throws. One pass, bounded input length and nesting: linear time.
/// Over 400 lines on purpose: it is one grammar, one method a precedence level, and reads top to bottom in the order
/// of the levels; split across files, a reader would chase one recursion through several.
/// </summary>
public sealed class MathParser
{
    /// <summary>Longer answers are compared as text (no short math answer is this long).</summary>
    public const int MaxLength = 1000;
    const int MaxNesting = 64;
    const int MaxScientificExponent = 300;

    static readonly HashSet<string> Functions =
    [
        "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "ln", "log", "exp",
    ];

    static readonly HashSet<string> Greek =
    [
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "kappa", "lambda",
        "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
        "Lambda", "Sigma", "Phi", "Psi", "Omega",
    ];

    static readonly HashSet<string> MatrixEnvironments = ["pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix"];

    readonly string _s;
    int _pos;
    int _nesting;
    int _absDepth;
    int _bracketDepth;

    MathParser(string s) => _s = s;

    sealed class NotMath(string why) : Exception(why);

    /// <summary>The expression tree of an answer; a <see cref="MathText"/> when it is not mathematics.</summary>
    public static MathNode Parse(string? answer)
    {
        string cleaned = MathAnswerText.Clean(answer ?? string.Empty);
        if (cleaned.Length == 0) return new MathText(string.Empty);
        if (cleaned.Length > MaxLength) return new MathText(MathAnswerText.TextForm(cleaned));
        var p = new MathParser(cleaned);
        try
        {
            MathNode node = p.ParseTop();
            return node;
        }
        catch (Exception)
        {
            // Not mathematics as far as this parser goes (NotMath), or a bug on odd input: either way, text.
            return new MathText(MathAnswerText.TextForm(cleaned));
        }
    }

    // ---- structure: several answers, relations, unions -------------------------------------------------------

    MathNode ParseTop()
    {
        var items = new List<MathNode> { ParseItem() };
        while (TrySeparator()) items.Add(ParseItem());
        SkipSpaces();
        if (_pos != _s.Length) throw new NotMath($"unexpected '{_s[_pos]}' at {_pos}");
        return items.Count == 1 ? items[0] : new MathAnswers(items);
    }

    /// <summary>Answers separated by <c>,</c> <c>;</c> "and" or "or".</summary>
    bool TrySeparator()
    {
        SkipSpaces();
        if (_pos < _s.Length && (_s[_pos] == ',' || _s[_pos] == ';')) { _pos++; return true; }
        foreach (string word in new[] { "and", "or" })
            if (AtWord(word)) { _pos += word.Length; return true; }
        return false;
    }

    MathNode ParseItem()
    {
        var terms = new List<MathNode> { ParseUnion() };
        var ops = new List<string>();
        while (TryRelation(out string op))
        {
            ops.Add(op);
            terms.Add(ParseUnion());
        }
        return ops.Count == 0 ? terms[0] : new MathRelation(terms, ops);
    }

    bool TryRelation(out string op)
    {
        SkipSpaces();
        op = "";
        if (_pos >= _s.Length) return false;
        char c = _s[_pos];
        if ((c == '<' || c == '>' || c == '!') && _pos + 1 < _s.Length && _s[_pos + 1] == '=')
        {
            op = c == '!' ? "!=" : c + "=";
            _pos += 2;
            return true;
        }
        if (c is '=' or '<' or '>')
        {
            op = c.ToString();
            _pos++;
            return true;
        }
        if (c != '\\') return false;
        string name = PeekCommand();
        op = name switch
        {
            "le" or "leq" or "leqslant" => "<=",
            "ge" or "geq" or "geqslant" => ">=",
            "lt" => "<",
            "gt" => ">",
            "ne" or "neq" => "!=",
            "in" => "in",
            _ => "",
        };
        if (op.Length == 0) return false;
        _pos += name.Length + 1;
        return true;
    }

    MathNode ParseUnion()
    {
        var parts = new List<MathNode> { ParseSum() };
        while (true)
        {
            SkipSpaces();
            if (PeekCommand() != "cup") break;
            _pos += 4;
            parts.Add(ParseSum());
        }
        return parts.Count == 1 ? parts[0] : new MathUnion(parts);
    }

    // ---- arithmetic ------------------------------------------------------------------------------------------

    MathNode ParseSum()
    {
        MathNode left = ParseTerm();
        while (true)
        {
            SkipSpaces();
            if (_pos >= _s.Length) break;
            char c = _s[_pos];
            if (c == '+' || c == '-')
            {
                _pos++;
                left = new MathBinary(c, left, ParseTerm());
            }
            else if (PeekCommand() is "pm" or "mp") throw new NotMath("plus-minus");
            else break;
        }
        return left;
    }

    MathNode ParseTerm()
    {
        MathNode left = ParseUnary();
        while (true)
        {
            SkipSpaces();
            if (_pos >= _s.Length) break;
            char c = _s[_pos];
            string command = c == '\\' ? PeekCommand() : "";
            if (c == '*' || command is "cdot" or "times" or "ast")
            {
                _pos += c == '*' ? 1 : command.Length + 1;
                left = new MathBinary('*', left, ParseUnary());
            }
            else if (c == '/' || command == "div")
            {
                _pos += c == '/' ? 1 : command.Length + 1;
                left = new MathBinary('/', left, ParseUnary());
            }
            else if (StartsImplicitFactor(left)) left = new MathBinary('*', left, ParsePower());
            else break;
        }
        return left;
    }

    /// <summary>Whether the next thing is a factor of an implicit product (<c>2x</c>, <c>2\pi</c>, <c>x(x+1)</c>).</summary>
    bool StartsImplicitFactor(MathNode left)
    {
        if (_pos >= _s.Length) return false;
        char c = _s[_pos];
        if (char.IsAsciiLetter(c)) return !AtWord("and") && !AtWord("or");
        if (char.IsAsciiDigit(c)) return left is not MathNumber; // "2 3" is not a product
        if (c == '(' || c == '{') return true;
        if (c == '|') return _absDepth == 0;
        if (c != '\\') return false;
        string name = PeekCommand();
        return name is "frac" or "sqrt" or "pi" or "infty" or "binom" or "lfloor" or "lceil" or "left" || Functions.Contains(name)
            || Greek.Contains(name);
    }

    MathNode ParseUnary()
    {
        SkipSpaces();
        if (_pos < _s.Length && _s[_pos] == '-') { _pos++; return new MathNegate(ParseUnary()); }
        if (_pos < _s.Length && _s[_pos] == '+') { _pos++; return ParseUnary(); }
        return ParsePower();
    }

    MathNode ParsePower()
    {
        MathNode b = ParsePostfix();
        SkipSpaces();
        if (_pos < _s.Length && _s[_pos] == '^')
        {
            _pos++;
            b = new MathBinary('^', b, ParseScript());
            SkipSpaces();
            while (_pos < _s.Length && _s[_pos] == '!' && !(_pos + 1 < _s.Length && _s[_pos + 1] == '=')) { _pos++; b = new MathFunction("fact", b); }
        }
        return b;
    }

    MathNode ParsePostfix()
    {
        MathNode p = ParsePrimary();
        while (_pos < _s.Length && _s[_pos] == '!' && !(_pos + 1 < _s.Length && _s[_pos + 1] == '='))
        {
            _pos++;
            p = new MathFunction("fact", p);
        }
        return p;
    }

    /// <summary>An exponent or subscript: a braced group, a signed exponent, a whole number (plain <c>2^10</c>), one
    /// letter, or one command.</summary>
    MathNode ParseScript()
    {
        SkipSpaces();
        if (_pos >= _s.Length) throw new NotMath("missing exponent");
        char c = _s[_pos];
        if (c == '{') return Group();
        if (c == '-') { _pos++; return new MathNegate(ParseScript()); }
        if (c == '(') return ParsePrimary();
        if (char.IsAsciiDigit(c)) return Number(allowMixed: false);
        if (char.IsAsciiLetter(c)) { _pos++; return Symbol(c.ToString()); }
        if (c == '\\') return ParsePrimary();
        throw new NotMath("bad exponent");
    }

    /// <summary>A LaTeX argument: a braced group, one digit, one letter, or one command (<c>\frac12</c>, <c>\sqrt2</c>).</summary>
    MathNode ParseArgument()
    {
        SkipSpaces();
        if (_pos >= _s.Length) throw new NotMath("missing argument");
        char c = _s[_pos];
        if (c == '{') return Group();
        if (char.IsAsciiDigit(c)) { _pos++; return new MathNumber(new Rational(c - '0', 1), false); }
        if (char.IsAsciiLetter(c)) { _pos++; return Symbol(c.ToString()); }
        if (c == '\\') return ParsePrimary();
        throw new NotMath("bad argument");
    }

    MathNode Group()
    {
        Expect('{');
        Enter();
        MathNode inner = ParseItem();
        var items = new List<MathNode> { inner };
        while (TryComma()) items.Add(ParseItem());
        Expect('}');
        Leave();
        return items.Count == 1 ? inner : new MathSet(items);
    }

    // ---- primaries -------------------------------------------------------------------------------------------

    MathNode ParsePrimary()
    {
        SkipSpaces();
        if (_pos >= _s.Length) throw new NotMath("unexpected end");
        char c = _s[_pos];
        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _s.Length && char.IsAsciiDigit(_s[_pos + 1]))) return Number(allowMixed: true);
        if (c == '(' || c == '[') return Bracket();
        if (c == '{') return Group();
        if (c == '|')
        {
            _pos++;
            Enter();
            _absDepth++;
            MathNode inner = ParseSum();
            _absDepth--;
            Expect('|');
            Leave();
            return new MathFunction("abs", inner);
        }
        if (char.IsAsciiLetter(c)) return Word();
        if (c == '\\') return Command();
        throw new NotMath($"unexpected '{c}'");
    }

    /// <summary><c>(a)</c> groups; <c>(a, b)</c>, <c>[a, b)</c>, ... are tuples or intervals (the brackets count).</summary>
    MathNode Bracket()
    {
        char open = _s[_pos++];
        Enter();
        _bracketDepth++;
        var items = new List<MathNode> { ParseItem() };
        while (TryComma()) items.Add(ParseItem());
        SkipSpaces();
        if (_pos >= _s.Length || (_s[_pos] != ')' && _s[_pos] != ']')) throw new NotMath("unclosed bracket");
        char close = _s[_pos++];
        _bracketDepth--;
        Leave();
        if (items.Count == 1 && ((open == '(' && close == ')') || (open == '[' && close == ']'))) return items[0];
        return new MathBracket(open, close, items);
    }

    bool TryComma()
    {
        SkipSpaces();
        if (_pos < _s.Length && _s[_pos] == ',') { _pos++; return true; }
        return false;
    }

    /// <summary>A run of letters: a function, a constant, one variable (with its subscript), or a short product of
    /// one-letter variables (<c>xy</c>). Longer unknown words are not mathematics.</summary>
    MathNode Word()
    {
        int start = _pos;
        while (_pos < _s.Length && char.IsAsciiLetter(_s[_pos])) _pos++;
        string word = _s[start.._pos];
        string lower = word.ToLowerInvariant();
        if (Functions.Contains(lower)) return FunctionCall(lower);
        if (lower == "sqrt") return new MathFunction("sqrt", ParseFunctionArgument());
        if (lower is "pi") return new MathSymbol("pi");
        if (lower is "inf" or "infty" or "infinity") return new MathSymbol("inf");
        if (word.Length == 1) return Symbol(word);
        if (word.Length > 3 || MathAnswerText.IsAnswerWord(lower)) throw new NotMath($"word '{word}'");
        // xy, abc: a product of one-letter variables; the next letters are read as the following implicit factors,
        // so that a power binds to its own letter (yx^2 is y·x²).
        _pos = start + 1;
        return new MathSymbol(word[0].ToString());
    }

    /// <summary>A variable with an optional subscript (<c>a_3</c>, <c>a_{37}</c>); <c>e</c>, <c>i</c> are constants.</summary>
    MathNode Symbol(string name)
    {
        if (_pos < _s.Length && _s[_pos] == '_')
        {
            _pos++;
            SkipSpaces();
            if (_pos >= _s.Length) throw new NotMath("missing subscript");
            string sub;
            if (_s[_pos] == '{')
            {
                int close = MathAnswerText.MatchingBrace(_s, _pos);
                if (close < 0) throw new NotMath("unclosed subscript");
                sub = _s[(_pos + 1)..close].Replace(" ", "", StringComparison.Ordinal).Replace("{", "", StringComparison.Ordinal)
                    .Replace("}", "", StringComparison.Ordinal);
                _pos = close + 1;
            }
            else sub = _s[_pos++].ToString();
            return new MathSymbol(name + "_" + sub);
        }
        return new MathSymbol(name);
    }

    MathNode Command()
    {
        string name = PeekCommand();
        if (name.Length == 0)
        {
            // \{ ... \} is a set.
            if (_pos + 1 < _s.Length && _s[_pos + 1] == '{') return SetLiteral();
            throw new NotMath("unknown command");
        }
        _pos += name.Length + 1;
        switch (name)
        {
            case "frac":
            case "cfrac":
                {
                    MathNode num = ParseArgument();
                    MathNode den = ParseArgument();
                    return new MathBinary('/', num, den);
                }
            case "binom":
                {
                    MathNode n = ParseArgument();
                    MathNode k = ParseArgument();
                    return new MathFunction("binom", k, n);
                }
            case "sqrt":
                {
                    SkipSpaces();
                    MathNode? index = null;
                    if (_pos < _s.Length && _s[_pos] == '[')
                    {
                        _pos++;
                        index = ParseSum();
                        Expect(']');
                    }
                    return new MathFunction("sqrt", ParseArgument(), index);
                }
            case "pi": return new MathSymbol("pi");
            case "infty": return new MathSymbol("inf");
            case "emptyset":
            case "varnothing": return new MathSet([]);
            case "lfloor": return Delimited("floor", "rfloor");
            case "lceil": return Delimited("ceil", "rceil");
            case "begin": return Matrix();
            case "mathrm":
            case "mathit":
                {
                    // \mathrm{e}, \mathrm{i}: the constants
                    MathNode inner = ParseArgument();
                    return inner;
                }
        }
        if (Functions.Contains(name)) return FunctionCall(name);
        if (Greek.Contains(name)) return Symbol(name);
        throw new NotMath($"unknown command \\{name}");
    }

    MathNode Delimited(string function, string closing)
    {
        Enter();
        MathNode inner = ParseSum();
        SkipSpaces();
        if (PeekCommand() != closing) throw new NotMath($"missing \\{closing}");
        _pos += closing.Length + 1;
        Leave();
        return new MathFunction(function, inner);
    }

    /// <summary><c>\sin x</c>, <c>\sin^2 x</c>, <c>\log_2 8</c>, <c>\ln(x)</c>.</summary>
    MathNode FunctionCall(string name)
    {
        SkipSpaces();
        MathNode? power = null, index = null;
        for (int k = 0; k < 2 && _pos < _s.Length; k++)
        {
            if (_s[_pos] == '^' && power is null) { _pos++; power = ParseScript(); SkipSpaces(); }
            else if (_s[_pos] == '_' && index is null) { _pos++; index = ParseScript(); SkipSpaces(); }
        }
        if (index is not null && name != "log") throw new NotMath("subscript on a function");
        MathNode call = new MathFunction(name, ParseFunctionArgument(), index);
        return power is null ? call : new MathBinary('^', call, power);
    }

    /// <summary>A parenthesised argument, or a tight product of powers (<c>\sin 2x</c>) up to the next function.</summary>
    MathNode ParseFunctionArgument()
    {
        SkipSpaces();
        if (_pos < _s.Length && (_s[_pos] == '(' || _s[_pos] == '{')) return ParsePostfix();
        MathNode arg = ParsePower();
        while (true)
        {
            SkipSpaces();
            if (_pos >= _s.Length || !StartsImplicitFactor(arg) || _s[_pos] == '(') break;
            if (_s[_pos] == '\\' && Functions.Contains(PeekCommand())) break;
            if (char.IsAsciiLetter(_s[_pos]) && Functions.Contains(LetterRun())) break;
            arg = new MathBinary('*', arg, ParsePower());
        }
        return arg;
    }

    MathNode SetLiteral()
    {
        _pos += 2; // \{
        Enter();
        var items = new List<MathNode>();
        SkipSpaces();
        if (!At("\\}"))
        {
            items.Add(ParseItem());
            while (TryComma()) items.Add(ParseItem());
        }
        SkipSpaces();
        if (!At("\\}")) throw new NotMath("unclosed set");
        _pos += 2;
        Leave();
        return new MathSet(items);
    }

    /// <summary><c>\begin{pmatrix} a &amp; b \\ c &amp; d \end{pmatrix}</c> (also bmatrix, matrix, ...).</summary>
    MathNode Matrix()
    {
        SkipSpaces();
        int close = _pos < _s.Length && _s[_pos] == '{' ? MathAnswerText.MatchingBrace(_s, _pos) : -1;
        if (close < 0) throw new NotMath("bad \\begin");
        string env = _s[(_pos + 1)..close].Trim();
        if (!MatrixEnvironments.Contains(env)) throw new NotMath($"environment {env}");
        _pos = close + 1;
        Enter();
        string end = "\\end{" + env + "}";
        var rows = new List<IReadOnlyList<MathNode>>();
        var row = new List<MathNode>();
        while (true)
        {
            SkipSpaces();
            if (At(end)) { _pos += end.Length; break; }
            if (_pos >= _s.Length) throw new NotMath("unclosed matrix");
            row.Add(ParseSum());
            SkipSpaces();
            if (_pos < _s.Length && _s[_pos] == '&') { _pos++; continue; }
            if (At("\\\\")) { _pos += 2; rows.Add(row); row = []; continue; }
            if (!At(end)) throw new NotMath("bad matrix entry");
        }
        if (row.Count > 0) rows.Add(row);
        Leave();
        if (rows.Count == 0 || rows.Any(r => r.Count != rows[0].Count)) throw new NotMath("ragged matrix");
        return new MathMatrix(rows);
    }

    // ---- numbers ---------------------------------------------------------------------------------------------

    /// <summary>
    /// A number: digits with thousands separators (<c>1,234,567</c>; inside brackets only with two groups or more, as
    /// <c>(1,234)</c> may be a point), a decimal point or an unambiguous decimal comma (<c>0,111</c>), scientific
    /// notation (<c>1.5e3</c>), and, when <paramref name="allowMixed"/>, a mixed number (<c>2\frac{1}{2}</c>, <c>2 1/2</c>).
    /// </summary>
    MathNode Number(bool allowMixed)
    {
        int start = _pos;
        while (_pos < _s.Length && char.IsAsciiDigit(_s[_pos])) _pos++;
        string whole = _s[start.._pos];
        bool isDecimal = false;
        string frac = "";
        int groups = CountThousandsGroups(_pos);
        if (whole.Length is >= 1 and <= 3 && whole[0] != '0' && groups > 0 && (_bracketDepth == 0 || groups >= 2))
        {
            for (int g = 0; g < groups; g++) { whole += _s.Substring(_pos + 1, 3); _pos += 4; }
        }
        else if (whole == "0" && _bracketDepth == 0 && _pos + 1 < _s.Length && _s[_pos] == ',' && char.IsAsciiDigit(_s[_pos + 1]))
        {
            // 0,111: a decimal comma (no integer is written with a leading 0 before a thousands group).
            int j = _pos + 1;
            while (j < _s.Length && char.IsAsciiDigit(_s[j])) j++;
            if (!(j < _s.Length && _s[j] == ',')) { frac = _s[(_pos + 1)..j]; isDecimal = true; _pos = j; }
        }
        if (!isDecimal && _pos + 1 < _s.Length && _s[_pos] == '.' && char.IsAsciiDigit(_s[_pos + 1]))
        {
            int j = _pos + 1;
            while (j < _s.Length && char.IsAsciiDigit(_s[j])) j++;
            frac = _s[(_pos + 1)..j];
            isDecimal = true;
            _pos = j;
        }
        if (whole.Length + frac.Length > 600) throw new NotMath("number too long");
        Rational value = Rational.ParseDecimal((whole.Length == 0 ? "0" : whole) + (frac.Length > 0 ? "." + frac : ""));
        if (_pos + 1 < _s.Length && (_s[_pos] == 'e' || _s[_pos] == 'E'))
        {
            int j = _pos + 1;
            bool negative = false;
            if (_s[j] == '+' || _s[j] == '-') { negative = _s[j] == '-'; j++; }
            int digits = j;
            while (j < _s.Length && char.IsAsciiDigit(_s[j])) j++;
            if (j > digits && !(j < _s.Length && char.IsAsciiLetter(_s[j])))
            {
                int exponent = int.Parse(_s[digits..j], System.Globalization.CultureInfo.InvariantCulture);
                if (exponent > MaxScientificExponent) throw new NotMath("exponent too large");
                var scale = new Rational(BigInteger.Pow(10, exponent), 1);
                value = negative ? value / scale : value * scale;
                isDecimal = true;
                _pos = j;
            }
        }
        if (allowMixed && !isDecimal && TryMixedFraction(out Rational fraction)) value += fraction;
        return new MathNumber(value, isDecimal);
    }

    /// <summary>How many ",ddd" groups follow at <paramref name="i"/> (no space after the comma, not followed by a digit).</summary>
    int CountThousandsGroups(int i)
    {
        int groups = 0;
        while (i + 3 < _s.Length && _s[i] == ',' && char.IsAsciiDigit(_s[i + 1]) && char.IsAsciiDigit(_s[i + 2]) && char.IsAsciiDigit(_s[i + 3])
               && !(i + 4 < _s.Length && char.IsAsciiDigit(_s[i + 4])))
        {
            groups++;
            i += 4;
        }
        return groups;
    }

    /// <summary>The proper fraction of a mixed number right after its whole part: <c>\frac{1}{2}</c> with integer
    /// parts, or <c> 1/2</c> after a space.</summary>
    bool TryMixedFraction(out Rational fraction)
    {
        fraction = Rational.Zero;
        int save = _pos;
        if (At("\\frac{"))
        {
            int p = _pos + 5;
            if (TryBracedInteger(ref p, out BigInteger n) && TryBracedInteger(ref p, out BigInteger d) && d > n && n > 0)
            {
                fraction = new Rational(n, d);
                _pos = p;
                return true;
            }
            return false;
        }
        int q = _pos;
        if (q < _s.Length && _s[q] == ' ')
        {
            while (q < _s.Length && _s[q] == ' ') q++;
            int ns = q;
            while (q < _s.Length && char.IsAsciiDigit(_s[q])) q++;
            if (q == ns || q >= _s.Length || _s[q] != '/') { _pos = save; return false; }
            string num = _s[ns..q];
            int ds = ++q;
            while (q < _s.Length && char.IsAsciiDigit(_s[q])) q++;
            if (q == ds || num.Length > 9 || q - ds > 9) return false;
            if (q < _s.Length && (char.IsAsciiLetterOrDigit(_s[q]) || _s[q] is '^' or '.')) return false;
            var n = BigInteger.Parse(num, System.Globalization.CultureInfo.InvariantCulture);
            var d = BigInteger.Parse(_s[ds..q], System.Globalization.CultureInfo.InvariantCulture);
            if (n <= 0 || d <= n) return false;
            fraction = new Rational(n, d);
            _pos = q;
            return true;
        }
        return false;
    }

    bool TryBracedInteger(ref int p, out BigInteger value)
    {
        value = 0;
        if (p >= _s.Length || _s[p] != '{') return false;
        int close = MathAnswerText.MatchingBrace(_s, p);
        if (close < 0) return false;
        string inner = _s[(p + 1)..close].Trim();
        if (inner.Length is 0 or > 9 || !inner.All(char.IsAsciiDigit)) return false;
        value = BigInteger.Parse(inner, System.Globalization.CultureInfo.InvariantCulture);
        p = close + 1;
        return true;
    }

    // ---- scanning helpers ------------------------------------------------------------------------------------

    void SkipSpaces()
    {
        while (_pos < _s.Length && _s[_pos] == ' ') _pos++;
    }

    void Expect(char c)
    {
        SkipSpaces();
        if (_pos >= _s.Length || _s[_pos] != c) throw new NotMath($"expected '{c}'");
        _pos++;
    }

    void Enter()
    {
        if (++_nesting > MaxNesting) throw new NotMath("nested too deeply");
    }

    void Leave() => _nesting--;

    bool At(string token) => string.CompareOrdinal(_s, _pos, token, 0, token.Length) == 0;

    /// <summary>The name of the command at the cursor (<c>\frac</c> gives "frac"), or "" when none.</summary>
    string PeekCommand()
    {
        if (_pos >= _s.Length || _s[_pos] != '\\') return "";
        int j = _pos + 1;
        while (j < _s.Length && char.IsAsciiLetter(_s[j])) j++;
        return _s[(_pos + 1)..j];
    }

    string LetterRun()
    {
        int j = _pos;
        while (j < _s.Length && char.IsAsciiLetter(_s[j])) j++;
        return _s[_pos..j].ToLowerInvariant();
    }

    /// <summary>Whether the whole word <paramref name="word"/> starts at the cursor.</summary>
    bool AtWord(string word) =>
        At(word) && (_pos + word.Length >= _s.Length || !char.IsAsciiLetter(_s[_pos + word.Length]))
        && (_pos == 0 || !char.IsAsciiLetter(_s[_pos - 1]));
}
