namespace TreePO.Core.Data;

/// <summary>
/// Field presets (`--data-format`), whatever the file's encoding (JSON lines or Parquet, told apart by content):
/// <list type="bullet">
/// <item><c>jsonl</c>: question, answer, id (the project's own files).</item>
/// <item><c>verl</c>: verl's RL layout: prompt (chat messages), reward_model.ground_truth, data_source and
/// extra_info.index (the id is "data_source-index").</item>
/// <item><c>gsm8k</c>: question, and the answer after the last "#### " of the answer field (thousands commas dropped).</item>
/// <item><c>math</c>: problem, and the last <c>\boxed{}</c> of the solution field.</item>
/// </list>
/// </summary>
public enum DatasetFormat { Jsonl, Verl, Gsm8k, Math }
