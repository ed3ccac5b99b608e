using IrisIde.Execution.Sandboxing.Cgroups;

namespace IrisIde.Tests.Sandboxing.Cgroups;

public sealed class RunCgroupNameTests
{
    [Fact]
    public void A_run_of_this_process_has_a_live_owner()
    {
        Assert.False(RunCgroupName.OwnerIsGone(RunCgroupName.For("0123456789ab")));
    }

    [Fact]
    public void A_run_whose_owner_pid_was_reused_or_is_free_has_a_gone_owner()
    {
        var pidNamespace = RunCgroupName.PidNamespace();

        Assert.True(RunCgroupName.OwnerIsGone($"run-{pidNamespace}-{Environment.ProcessId}-1-0123456789ab"));
        Assert.True(RunCgroupName.OwnerIsGone($"run-{pidNamespace}-2147483646-123-0123456789ab"));
    }

    [Fact]
    public void A_run_of_another_pid_namespace_is_never_taken_for_a_leftover()
    {
        // Its owner's pid means nothing here: it may be alive in its own namespace.
        Assert.False(RunCgroupName.OwnerIsGone($"run-1-{Environment.ProcessId}-1-0123456789ab"));
    }

    [Fact]
    public void A_name_without_an_owner_is_never_taken_for_a_leftover()
    {
        // Older servers named runs run-<id>; they may still be running next to us.
        Assert.False(RunCgroupName.OwnerIsGone("run-0123456789ab"));
        Assert.False(RunCgroupName.OwnerIsGone("init"));
    }
}
