namespace TreePO.Hosting.Options;

/// <summary>The policy model every engine loads at activation.</summary>
public sealed class ModelOptions
{
    /// <summary>A Hugging Face folder (config.json, model.safetensors, tokenizer.json). Empty: the built-in model,
    /// models/builtin (see <see cref="Models.ModelFolder"/>).</summary>
    public string Path { get; set; } = "";
}
