namespace TreePO.Hosting.Models;

/// <summary>The model folder is missing or incomplete; the message says what to pass.</summary>
public sealed class ModelFolderException(string message) : Exception(message);
