namespace TreePO.Grains.Training;

/// <summary>Turns a question into the prompt token ids the policy answers (chat format and tokenizer of the run's
/// model). Registered in the silo's DI next to the trees' <see cref="Trees.TreeText"/>; the host's ModelText implements it.</summary>
public interface IPromptEncoder
{
    int[] Encode(string question);
}
