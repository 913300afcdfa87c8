namespace TreePO.Hosting.Options;

/// <summary>The options tree has bad keys; <see cref="Errors"/> names each one and why.</summary>
public sealed class TreePOOptionsException(IReadOnlyList<string> errors)
    : Exception("invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
