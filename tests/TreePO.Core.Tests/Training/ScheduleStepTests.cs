using TreePO.Core.Trees;
using TreePO.Core.Training;

namespace TreePO.Core.Tests.Training;

public sealed class ScheduleStepTests
{
    static readonly TreeConfig Descending = new()
    {
        Branching = BranchingPolicy.LogProb, TemperatureSchedule = TemperatureSchedule.SinusoidDescending, TemperatureMin = 1, TemperatureMax = 5,
    };

    [Fact]
    public void The_sinusoid_is_at_its_maximum_at_step_1_and_its_minimum_at_the_last_step()
    {
        Assert.Equal(5, ScheduleStep.At(Descending, 1, 10).Temperature, 9);
        Assert.Equal(1, ScheduleStep.At(Descending, 10, 10).Temperature, 9);
        Assert.Equal(3, ScheduleStep.At(Descending, 2, 3).Temperature, 9);   // the middle step, the middle value
        var ascending = Descending with { TemperatureSchedule = TemperatureSchedule.SinusoidAscending };
        Assert.Equal(1, ScheduleStep.At(ascending, 1, 10).Temperature, 9);
        Assert.Equal(5, ScheduleStep.At(ascending, 10, 10).Temperature, 9);
    }

    [Fact]
    public void A_schedule_length_set_by_the_user_is_kept_and_the_end_held_after_it()
    {
        var set = Descending with { ScheduleTotalSteps = 5 };
        Assert.Equal(5, ScheduleStep.At(set, 1, 100).Temperature, 9);
        Assert.Equal(1, ScheduleStep.At(set, 5, 100).Temperature, 9);    // its end at step 5, not at the run's 100
        Assert.Equal(1, ScheduleStep.At(set, 60, 100).Temperature, 9);
    }
}
