using System.Globalization;

namespace TreePO.Bench.Common;

/// <summary>
/// `--key value` / `--key=value` options of one benchmark. Every option must be declared by a getter before
/// <see cref="Errors"/> is read, so a misspelt option is reported instead of silently ignored.
/// </summary>
public sealed class BenchArgs
{
    readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);
    readonly HashSet<string> _known = new(StringComparer.OrdinalIgnoreCase);
    readonly List<string> _errors = [];

    public BenchArgs(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                _errors.Add($"unexpected argument '{a}' (options look like --name value)");
                continue;
            }
            string key = a[2..], value;
            int eq = key.IndexOf('=');
            if (eq >= 0) (key, value) = (key[..eq], key[(eq + 1)..]);
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
            else value = "true";
            _values[key] = value;
        }
    }

    public string String(string key, string fallback)
    {
        _known.Add(key);
        return _values.TryGetValue(key, out string? v) ? v : fallback;
    }

    public int Int(string key, int fallback, int min = int.MinValue)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out string? v)) return fallback;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)) _errors.Add($"--{key}: '{v}' is not an integer");
        else if (n < min) _errors.Add($"--{key}: must be at least {min}, got {n}");
        return n;
    }

    public double Double(string key, double fallback, double min = double.MinValue)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out string? v)) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            _errors.Add($"--{key}: '{v}' is not a number");
        else if (x < min) _errors.Add($"--{key}: must be at least {min}, got {x}");
        return x;
    }

    public bool Flag(string key)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out string? v)) return false;
        if (bool.TryParse(v, out bool b)) return b;
        _errors.Add($"--{key}: '{v}' is not true or false");
        return false;
    }

    /// <summary>A comma-separated list of integers, e.g. <c>--widths 4,8,16</c>.</summary>
    public int[] IntList(string key, int[] fallback, int min = int.MinValue)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out string? v)) return fallback;
        var list = new List<int>();
        foreach (string part in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)) _errors.Add($"--{key}: '{part}' is not an integer");
            else if (n < min) _errors.Add($"--{key}: every value must be at least {min}, got {n}");
            else list.Add(n);
        }
        if (list.Count == 0) _errors.Add($"--{key}: give at least one value");
        return [.. list];
    }

    /// <summary>Every problem found, unknown options included; call after all getters.</summary>
    public IReadOnlyList<string> Errors =>
        [.. _errors, .. _values.Keys.Where(k => !_known.Contains(k)).Select(k =>
            $"unknown option --{k} (known: {string.Join(", ", _known.Order().Select(x => "--" + x))})" +
            (TreePO.Hosting.Options.NearestName.Of(k, _known) is { } near ? $"; did you mean --{near}?" : ""))];
}
