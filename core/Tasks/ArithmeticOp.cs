namespace TreePO.Core.Tasks;

public enum ArithmeticOp
{
    Add,
    Subtract,
    Multiply,
}
