using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace TreePO.Hosting.Options;

/// <summary>
/// Reads the options tree: appsettings.json (optional), then environment variables (TREEPO__SECTION__KEY), then
/// --key=value overrides, later sources winning. Binding is strict: an unknown key, a value of the wrong type or out
/// of range is an error, and all errors are reported together, each naming its key.
/// </summary>
public static class TreePOConfiguration
{
    /// <summary>Adds the three sources to a configuration builder. <paramref name="overrides"/> come from
    /// <see cref="SplitOverrides"/>.</summary>
    public static IConfigurationBuilder AddTreePOSources(this IConfigurationBuilder builder,
        IReadOnlyDictionary<string, string?> overrides, string? basePath = null)
    {
        builder.AddJsonFile(Path.Combine(basePath ?? Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);
        builder.AddEnvironmentVariables();
        builder.AddInMemoryCollection(overrides);
        return builder;
    }

    /// <summary>Builds the configuration from the three sources and binds it.</summary>
    public static TreePOOptions Load(string[] args, string? basePath = null) => Load(args, out _, basePath);

    public static TreePOOptions Load(string[] args, out string[] rest, string? basePath = null)
    {
        var (overrides, remaining) = SplitOverrides(args);
        rest = remaining;
        return Bind(new ConfigurationBuilder().AddTreePOSources(overrides, basePath).Build());
    }

    /// <summary>
    /// Takes the option overrides out of a command line: arguments "--a.b=value" or "--a:b=value" (a dotted or colon
    /// path, with or without the leading "TreePO"). Everything else is returned for the command's own parser.
    /// </summary>
    public static (Dictionary<string, string?> Overrides, string[] Others) SplitOverrides(IEnumerable<string> args)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var rest = new List<string>();
        foreach (string arg in args)
        {
            int eq = arg.IndexOf('=');
            string name = arg.StartsWith("--", StringComparison.Ordinal) && eq > 2 ? arg[2..eq] : "";
            if (name.Length == 0 || !(name.Contains('.') || name.Contains(':'))) { rest.Add(arg); continue; }
            string path = name.Replace('.', ':');
            if (!path.StartsWith(TreePOOptions.Section + ":", StringComparison.OrdinalIgnoreCase))
                path = TreePOOptions.Section + ":" + path;
            overrides[path] = arg[(eq + 1)..];
        }
        return (overrides, rest.ToArray());
    }

    /// <summary>Binds section "TreePO" strictly; throws <see cref="TreePOOptionsException"/> naming every bad key.</summary>
    public static TreePOOptions Bind(IConfiguration configuration)
    {
        var options = new TreePOOptions();
        var errors = new List<string>();
        BindObject(options, configuration.GetSection(TreePOOptions.Section), errors);
        errors.AddRange(options.Validate());   // keys that failed to bind keep their defaults here
        if (errors.Count > 0) throw new TreePOOptionsException(errors);
        return options;
    }

    static void BindObject(object target, IConfigurationSection section, List<string> errors)
    {
        var properties = target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite).ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                if (RenamedKeys.Of(RelativePath(child.Path)) is { } renamed)
                {
                    errors.Add($"{child.Path}: renamed; use {renamed} (--{renamed.Replace(':', '.').ToLowerInvariant()}=VALUE)");
                    continue;
                }
                string? near = NearestName.Of(child.Key, properties.Keys);
                errors.Add($"{child.Path}: unknown key (known: {string.Join(", ", properties.Keys)}){(near is null ? "" : $"; did you mean {section.Path}:{near}?")}");
                continue;
            }
            if (IsScalar(property.PropertyType))
            {
                if (child.Value is null)
                    errors.Add($"{child.Path}: expected a single {Describe(property.PropertyType)} value, got a section");
                else if (TryConvert(child.Value, property.PropertyType, out var value))
                    property.SetValue(target, value);
                else
                    errors.Add($"{child.Path}: '{child.Value}' is not a valid {Describe(property.PropertyType)}");
            }
            else if (child.Value is not null && child.Value.Length > 0)
                errors.Add($"{child.Path}: is a section, not a value");
            else
                BindObject(property.GetValue(target) ?? throw new InvalidOperationException($"{child.Path} has no default"), child, errors);
        }
    }

    /// <summary>"TreePO:Engine:MaxContext" as "Engine:MaxContext".</summary>
    static string RelativePath(string path) =>
        path.StartsWith(TreePOOptions.Section + ":", StringComparison.OrdinalIgnoreCase) ? path[(TreePOOptions.Section.Length + 1)..] : path;

    static bool IsScalar(Type t) => t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal);

    static string Describe(Type t) => t.IsEnum ? $"{t.Name} ({string.Join(" | ", Enum.GetNames(t))})"
        : t == typeof(TimeSpan) ? "duration (hh:mm:ss)" : t.Name;

    static bool TryConvert(string text, Type type, out object? value)
    {
        value = null;
        if (type.IsEnum)
        {
            if (!Enum.TryParse(type, text, ignoreCase: true, out value) || !Enum.IsDefined(type, value!) || int.TryParse(text, out _))
                return false;
            return true;
        }
        try
        {
            value = TypeDescriptor.GetConverter(type).ConvertFromString(null, CultureInfo.InvariantCulture, text);
            return value is not null;
        }
        catch (Exception) { return false; }
    }
}
