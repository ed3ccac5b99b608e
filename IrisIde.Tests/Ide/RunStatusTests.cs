using IrisIde.Web.Ide;

namespace IrisIde.Tests.Ide;

public sealed class RunStatusTests
{
    [Fact]
    public void A_compiled_run_goes_idle_starting_compiling_running_exited()
    {
        var status = RunStatus.Idle;
        Assert.Equal("Ready", status.Describe());

        status = status.Begin();
        Assert.Equal((RunPhase.Starting, "Starting…"), (status.Phase, status.Describe()));
        status = status.Started("run-1").Compiling();
        Assert.Equal((RunPhase.Compiling, "Compiling…", "run-1"), (status.Phase, status.Describe(), status.RunId));
        status = status.Running();
        Assert.Equal((RunPhase.Running, "Running…"), (status.Phase, status.Describe()));
        status = status.Exited("ok", "run", 0, null, 50, 3_850_240);

        Assert.Equal(RunPhase.Exited, status.Phase);
        Assert.False(status.IsActive);
        Assert.Equal("Exited with code 0 · ok · 0.05 s · 3.7 MB", status.Describe());
    }

    [Fact]
    public void An_interpreted_run_goes_from_starting_straight_to_running()
    {
        var status = RunStatus.Idle.Begin().Started("r").Running();

        Assert.Equal(RunPhase.Running, status.Phase);
        Assert.True(status.IsActive);
    }

    [Fact]
    public void A_stopped_run_describes_the_signal()
    {
        var status = RunStatus.Idle.Begin().Running().Exited("killed", "run", null, 9, 1_200, 3_250_000, "stopped by the user");

        Assert.Equal("Killed by signal 9 · killed: stopped by the user · 1.20 s · 3.1 MB", status.Describe());
        Assert.Equal("stopped by the user", status.Message);
    }

    [Fact]
    public void A_compile_error_says_compilation_failed()
    {
        var status = RunStatus.Idle.Begin().Compiling().Exited("compile_error", "compile", 1, null, 310, 43_000_000, "compilation failed (exit code 1)");

        Assert.Equal("Compilation failed · compile_error · 0.31 s · 41.0 MB", status.Describe());
        Assert.Equal("compile", status.Stage);
    }

    [Fact]
    public void Long_runs_show_seconds_then_minutes_and_unknown_memory_is_left_out()
    {
        Assert.Equal("Exited with code 1 · runtime_error · 12.3 s", RunStatus.Idle.Begin().Running().Exited("runtime_error", "run", 1, null, 12_345, 0).Describe());
        Assert.Equal("Ended · internal_error · 2 min 5 s", RunStatus.Idle.Begin().Running().Exited("internal_error", "run", null, null, 125_000, 0).Describe());
    }

    [Fact]
    public void A_refused_start_fails_with_the_message()
    {
        var status = RunStatus.Idle.Begin().Failed("too many runs");

        Assert.Equal((RunPhase.Failed, "Failed: too many runs"), (status.Phase, status.Describe()));
        Assert.False(status.IsActive);
    }

    [Fact]
    public void Events_that_make_no_sense_in_the_current_phase_are_ignored()
    {
        var idle = RunStatus.Idle;
        Assert.Same(idle, idle.Started("x"));
        Assert.Same(idle, idle.Compiling());
        Assert.Same(idle, idle.Running());
        Assert.Same(idle, idle.Exited("ok", "run", 0, null, 1, 1));
        Assert.Same(idle, idle.Failed("nope"));

        var running = idle.Begin().Started("a").Running();
        Assert.Same(running, running.Begin());
        Assert.Same(running, running.Started("b"));
        Assert.Same(running, running.Compiling());
        Assert.Same(running, running.Reset());

        var exited = running.Exited("ok", "run", 0, null, 1, 1);
        Assert.Same(exited, exited.Running());
        Assert.Same(exited, exited.Exited("killed", "run", null, 9, 1, 1));
        Assert.Same(exited, exited.Failed("late"));
    }

    [Fact]
    public void After_a_run_ends_a_new_one_can_begin_or_the_status_can_reset()
    {
        var exited = RunStatus.Idle.Begin().Running().Exited("ok", "run", 0, null, 1, 1);

        var again = exited.Begin();
        Assert.Equal(RunPhase.Starting, again.Phase);
        Assert.Null(again.RunId);
        Assert.Null(again.Verdict);
        Assert.Same(RunStatus.Idle, exited.Reset());
        Assert.Equal(RunPhase.Starting, RunStatus.Idle.Begin().Failed("x").Begin().Phase);
    }
}
