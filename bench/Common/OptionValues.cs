using System.Globalization;
using System.Reflection;
using Spectre.Console.Cli;

namespace TreePO.Bench.Common;

/// <summary>
/// Refuses a number option given something that is not a number, naming the option (--steps: 'abc' is not an
/// integer); Spectre alone says only "Failed to convert 'abc' to Int32".
/// </summary>
public static class OptionValues
{
    /// <summary>The error for the first bad number of <paramref name="args"/> (command name first), or null.</summary>
    public static string? Check(IReadOnlyList<string> args, Type settings)
    {
        var types = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var p in settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.GetCustomAttribute<CommandOptionAttribute>() is { } o)
                foreach (string name in o.LongNames.Select(n => "--" + n).Concat(o.ShortNames.Select(n => "-" + n)))
                    types[name] = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
        for (int i = 1; i < args.Count; i++)
        {
            string[] parts = args[i].Split('=', 2);
            if (!types.TryGetValue(parts[0], out var type) || type == typeof(bool) || type == typeof(string)) continue;
            string? value = parts.Length == 2 ? parts[1] : i + 1 < args.Count ? args[++i] : null;
            if (value is null) continue;   // Spectre says the value is missing
            bool integer = type == typeof(int) || type == typeof(long) || type == typeof(ulong);
            bool ok = integer ? long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && (type != typeof(int) || n is >= int.MinValue and <= int.MaxValue)
                : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
            if (!ok) return $"{parts[0]}: '{value}' is not {(integer ? "an integer" : "a number")}";
        }
        return null;
    }
}
