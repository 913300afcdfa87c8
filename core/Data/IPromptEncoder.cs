using TreePO.Core.Tasks;

namespace TreePO.Core.Data;

/// <summary>Turns a dataset item (its question, or its chat messages) into the prompt token ids the policy answers:
/// chat format and tokenizer of the run's model. The host's ModelText implements it; silos register it in DI.</summary>
public interface IPromptEncoder
{
    int[] Encode(TaskItem item);
}
