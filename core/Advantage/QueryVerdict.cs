namespace TreePO.Core.Advantage;

/// <summary>What the dynamic-sampling filter decides about one query.</summary>
public enum QueryVerdict { Keep, AllCorrect, AllWrong, Empty }
