using TreePO.Core.Trees;

namespace TreePO.Core.Training;

/// <summary>
/// Where training step n (1..) stands on the tree's temperature schedule: at its start at step 1 and at its end at step
/// T, T being Tree:ScheduleTotalSteps when set above 1 (kept, never overwritten), else the run's steps; clamped at the
/// end after T. The core schedule runs over ScheduleStep 0..ScheduleTotalSteps, so step n is position n - 1 of T - 1.
/// </summary>
public static class ScheduleStep
{
    public static TreeConfig At(TreeConfig config, int step, int runSteps)
    {
        int end = config.ScheduleTotalSteps > 1 ? config.ScheduleTotalSteps : runSteps;
        return config with { ScheduleStep = step - 1, ScheduleTotalSteps = Math.Max(1, end - 1) };
    }
}
