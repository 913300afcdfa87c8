namespace TreePO.Core.Tasks;

/// <summary>One operation of an arithmetic word problem, applied to the running total.</summary>
public sealed record ArithmeticStep(ArithmeticOp Op, int Operand)
{
    public int Apply(int value) => Op switch
    {
        ArithmeticOp.Add => value + Operand,
        ArithmeticOp.Subtract => value - Operand,
        ArithmeticOp.Multiply => value * Operand,
        _ => throw new InvalidOperationException($"unknown operation {Op}"),
    };

    public char Symbol => Op switch
    {
        ArithmeticOp.Add => '+',
        ArithmeticOp.Subtract => '-',
        _ => '*',
    };
}
