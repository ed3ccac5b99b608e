using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Runs;

[Trait("Needs", "Bubblewrap")]
public sealed class CompileOnceTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private const string Doubler = "#include <stdio.h>\nint main(void){int n; if(scanf(\"%d\",&n)!=1) return 3; printf(\"%d\\n\", n*2); return 0;}\n";

    private async Task<List<RunResult>> RunEachAsync(string language, string source, IReadOnlyList<string?> stdins, RunLimitOverrides? limits = null)
    {
        var request = new RunRequest { Language = language, Files = [new SourceFile(string.Empty, source)], Limits = limits };
        var runs = new List<RunResult>();
        using var timeout = new CancellationTokenSource(PipelineFixture.Timeout);
        await foreach (var events in fixture.Pipeline.RunEachAsync(request, stdins, timeout.Token))
        {
            runs.Add(new RunResult(events));
        }

        return runs;
    }

    [Fact]
    public async Task Several_stdins_compile_once_and_each_run_reads_its_own_input()
    {
        var runs = await RunEachAsync("c", Doubler, ["2\n", "21\n", "-5\n"]);

        Assert.Equal(3, runs.Count);
        Assert.Equal(1, runs.Sum(r => r.Events.OfType<CompileStarted>().Count()));
        Assert.Equal(1, runs.Sum(r => r.Events.OfType<CompileFinished>().Count()));
        Assert.NotNull(runs[0].Compile);
        Assert.All(runs.Skip(1), r => Assert.Null(r.Compile));
        Assert.Equal(["4\n", "42\n", "-10\n"], runs.Select(r => r.Stdout));
        Assert.All(runs, r => Assert.Equal(Verdict.Ok, r.Outcome.Verdict));
        Assert.All(runs, r => Assert.Single(r.Events.OfType<ProgramStarted>()));
    }

    [Fact]
    public async Task Each_run_starts_from_the_program_as_the_compiler_left_it()
    {
        // Each run leaves a file behind and deletes its own executable: the next run must see neither.
        const string source = """
            #include <stdio.h>
            #include <unistd.h>
            int main(void) {
                FILE *f = fopen("state", "r");
                puts(f ? "seen" : "fresh");
                if (f) fclose(f);
                f = fopen("state", "w");
                if (f) { fputs("x", f); fclose(f); }
                return unlink("main") == 0 ? 0 : 4;
            }
            """;

        var runs = await RunEachAsync("c", source, [null, null, null]);

        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.True(r.Outcome.Verdict == Verdict.Ok && r.Outcome.ExitCode == 0, r.ToString()));
        Assert.Equal(["fresh\n", "fresh\n", "fresh\n"], runs.Select(r => r.Stdout));
    }

    [Fact]
    public async Task Each_run_gets_fresh_limits_so_one_that_times_out_does_not_shorten_the_next()
    {
        const string source = "#include <stdio.h>\nint main(void){int n; if(scanf(\"%d\",&n)!=1) for(;;); printf(\"%d\\n\", n); return 0;}\n";

        var runs = await RunEachAsync("c", source, ["1\n", "spin\n", "3\n"], new RunLimitOverrides { CpuSeconds = 1, WallSeconds = 3 });

        Assert.Equal([Verdict.Ok, Verdict.TimeLimit, Verdict.Ok], runs.Select(r => r.Outcome.Verdict));
        Assert.Equal("3\n", runs[2].Stdout);
        Assert.Equal(1, runs.Sum(r => r.Events.OfType<CompileStarted>().Count()));
    }

    [Fact]
    public async Task A_compile_error_ends_after_the_first_run()
    {
        var runs = await RunEachAsync("c", "int main(void) { return missing_name; }\n", ["1\n", "2\n", "3\n"]);

        var only = Assert.Single(runs);
        Assert.Equal(Verdict.CompileError, only.Outcome.Verdict);
        Assert.Equal(RunStage.Compile, only.Outcome.Stage);
        Assert.Contains("missing_name", only.Compile!.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(only.Events, e => e is ProgramStarted);
    }

    [Fact]
    public async Task An_interpreted_language_runs_each_stdin_without_a_compile_step()
    {
        var runs = await RunEachAsync("python", "import os\nprint(os.path.exists('state'), input())\nopen('state', 'w').write('x')\n", ["a\n", "b\n"]);

        Assert.Equal(["False a\n", "False b\n"], runs.Select(r => r.Stdout));
        Assert.DoesNotContain(runs.SelectMany(r => r.Events), e => e is CompileStarted);
    }

    [Fact]
    public async Task Stdin_over_the_limit_is_refused_before_anything_runs()
    {
        var huge = new string('x', (16 * 1024 * 1024) + 1);

        var error = await Assert.ThrowsAsync<RunValidationException>(() => RunEachAsync("c", Doubler, ["1\n", huge]));

        Assert.Equal(RunRequestError.StdinTooLarge, error.Error);
    }
}
