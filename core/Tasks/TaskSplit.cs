namespace TreePO.Core.Tasks;

/// <summary>Which side of a task's train / held-out partition a problem belongs to.</summary>
public enum TaskSplit
{
    Train,
    Test,
}
