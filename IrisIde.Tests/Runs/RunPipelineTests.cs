using System.Text;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Runs;

[Trait("Needs", "Bubblewrap")]
public sealed class RunPipelineTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static readonly TimeSpan Timeout = PipelineFixture.Timeout;

    private Task<RunSession> StartInteractiveAsync(string language, string source) =>
        fixture.Pipeline.StartAsync(new RunRequest
        {
            Language = language,
            Files = [new SourceFile(string.Empty, source)],
            Mode = RunMode.Interactive,
        }, CancellationToken.None).WaitAsync(Timeout);

    private static async Task<List<RunEvent>> ReadUntilAsync(RunSession session, Func<RunEvent, bool> stop)
    {
        var seen = new List<RunEvent>();
        await foreach (var e in session.Events.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            seen.Add(e);
            if (stop(e))
            {
                break;
            }
        }

        return seen;
    }

    private static async Task<RunResult> ReadToEndAsync(RunSession session, List<RunEvent>? before = null)
    {
        var events = before ?? [];
        events.AddRange(await ReadUntilAsync(session, _ => false));
        return new RunResult(events);
    }

    [Fact]
    public async Task A_compiled_run_reports_compile_then_program_then_exit_in_order()
    {
        var result = await fixture.RunAsync("c", "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n");

        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
        var kinds = result.Events.Select(e => e.GetType().Name).Where(n => n != nameof(OutputChunk)).ToList();
        Assert.Equal([nameof(CompileStarted), nameof(CompileFinished), nameof(ProgramStarted), nameof(RunExited)], kinds);
        Assert.True(result.Compile!.Succeeded);
        Assert.Equal("hi\n", result.Stdout);
        Assert.Equal(0, result.Outcome.ExitCode);
        Assert.True(result.Outcome.PeakMemoryBytes > 0);
        Assert.True(result.Outcome.WallTime > TimeSpan.Zero);
    }

    [Fact]
    public async Task Batch_stdin_is_written_then_closed()
    {
        var result = await fixture.RunAsync("python", "import sys\ndata = sys.stdin.read()\nprint(len(data.splitlines()), data.upper(), end='')\n", stdin: "one\ntwo\n");

        Assert.Equal("2 ONE\nTWO\n", result.Stdout);
    }

    [Fact]
    public async Task Output_is_streamed_before_the_program_ends()
    {
        await using var session = await StartInteractiveAsync("python", "print('prompt>', end='', flush=True)\nname = input()\nprint('got', name)\n");

        var before = await ReadUntilAsync(session, e => e is OutputChunk { Text: var t } && t.Contains("prompt>", StringComparison.Ordinal));
        Assert.DoesNotContain(before, e => e is RunExited);

        Assert.True(await session.WriteInputAsync("Ann\r\n", CancellationToken.None).AsTask().WaitAsync(Timeout));
        var result = await ReadToEndAsync(session, before);

        Assert.Contains(result.Events, e => e is InputEchoed { Text: "Ann\n" });
        Assert.Contains("got Ann\n", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
    }

    [Fact]
    public async Task Each_echo_comes_before_the_output_its_input_caused()
    {
        // A transcript reads input then answer: the echo must never trail what the program printed in reply,
        // however quickly the program answers. Many short exchanges give a race many chances to show.
        await using var session = await StartInteractiveAsync("python", "import sys\nfor line in sys.stdin:\n    sys.stdout.write('=' + line)\n    sys.stdout.flush()\n");
        var events = new List<RunEvent>();
        for (var i = 0; i < 150; i++)
        {
            Assert.True(await session.WriteInputAsync($"{i}\n", CancellationToken.None).AsTask().WaitAsync(Timeout));
            var answer = $"={i}\n";
            events.AddRange(await ReadUntilAsync(session, e => e is OutputChunk { Text: var t } && t.EndsWith(answer, StringComparison.Ordinal)));
        }

        session.CloseInput();
        var result = await ReadToEndAsync(session, events);

        var order = result.Events
            .Select(e => e switch { InputEchoed echo => "in " + echo.Text, OutputChunk output => "out " + output.Text, _ => null })
            .OfType<string>()
            .ToList();
        Assert.Equal(Enumerable.Range(0, 150).SelectMany(i => new[] { $"in {i}\n", $"out ={i}\n" }), order);
        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
    }

    [Fact]
    public async Task Input_sent_while_compiling_reaches_the_program()
    {
        await using var session = await StartInteractiveAsync("c", "#include <stdio.h>\nint main(void){char s[64]; if(scanf(\"%63s\", s)==1) printf(\"[%s]\\n\", s); return 0;}\n");
        await session.WriteInputAsync("early\n", CancellationToken.None);

        var result = await ReadToEndAsync(session);

        Assert.Equal("[early]\n", result.Stdout);
    }

    [Fact]
    public async Task Closing_input_gives_the_program_end_of_file()
    {
        await using var session = await StartInteractiveAsync("python", "import sys\nprint('read', len(sys.stdin.read()))\n");
        await session.WriteInputAsync("abc\n", CancellationToken.None);
        session.CloseInput();

        var result = await ReadToEndAsync(session);

        Assert.Equal("read 4\n", result.Stdout);
        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
    }

    [Fact]
    public async Task Stop_ends_an_infinite_loop_with_verdict_killed()
    {
        await using var session = await StartInteractiveAsync("python", "print('looping', flush=True)\nwhile True: pass\n");
        var before = await ReadUntilAsync(session, e => e is OutputChunk);

        session.Stop();
        var result = await ReadToEndAsync(session, before);

        Assert.Equal(Verdict.Killed, result.Outcome.Verdict);
        Assert.Equal("stopped by user", result.Outcome.Message);
    }

    [Fact]
    public async Task Interrupt_delivers_sigint_to_the_program()
    {
        await using var session = await StartInteractiveAsync("python",
            "import time\ntry:\n    print('ready', flush=True)\n    while True:\n        time.sleep(0.05)\nexcept KeyboardInterrupt:\n    print('interrupted')\n    raise SystemExit(7)\n");
        var before = await ReadUntilAsync(session, e => e is OutputChunk);

        session.Signal(Execution.Protocol.RunnerSignals.Interrupt);
        var result = await ReadToEndAsync(session, before);

        Assert.Contains("interrupted", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(7, result.Outcome.ExitCode);
        Assert.Equal(Verdict.RuntimeError, result.Outcome.Verdict);
    }

    [Fact]
    public async Task A_character_split_across_writes_is_never_split_across_chunks()
    {
        // é is C3 A9: the program writes the two bytes 200 ms apart, so they arrive in separate reads.
        var result = await fixture.RunAsync("c",
            "#include <stdio.h>\n#include <unistd.h>\nint main(void){ fputs(\"a\\xC3\", stdout); fflush(stdout); usleep(200000); fputs(\"\\xA9\" \"b\\n\", stdout); return 0; }\n");

        var chunks = result.Events.OfType<OutputChunk>().Select(c => c.Text).ToList();
        Assert.True(chunks.Count >= 2, "the bytes should have arrived in two reads");
        Assert.Equal("aéb\n", string.Concat(chunks));
        Assert.DoesNotContain(chunks, c => c.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_runtime_error_reports_the_programs_own_exit_code()
    {
        var result = await fixture.RunAsync("python", "import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)\n");

        Assert.Equal(Verdict.RuntimeError, result.Outcome.Verdict);
        Assert.Equal(3, result.Outcome.ExitCode);
        Assert.Equal("bye\n", result.Stderr);
    }

    [Fact]
    public async Task A_compile_error_ends_the_run_at_the_compile_stage_with_the_compiler_output()
    {
        var result = await fixture.RunAsync("c", "int main(void) { return nope; }\n");

        Assert.Equal(Verdict.CompileError, result.Outcome.Verdict);
        Assert.Equal(RunStage.Compile, result.Outcome.Stage);
        Assert.False(result.Compile!.Succeeded);
        Assert.Contains("main.c:1:", result.Compile.Output, StringComparison.Ordinal);
        Assert.Contains("nope", result.Compile.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Events, e => e is ProgramStarted);
    }

    [Fact]
    public async Task Multi_file_programs_compile_together()
    {
        var events = await fixture.Pipeline.RunToEndAsync(new RunRequest
        {
            Language = "c",
            Files =
            [
                new SourceFile("main.c", "#include \"greet.h\"\nint main(void){ greet(); return 0; }\n"),
                new SourceFile("greet.h", "#include <stdio.h>\nstatic void greet(void){ puts(\"from header\"); }\n"),
            ],
        }, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal("from header\n", new RunResult(events).Stdout);
    }

    [Fact]
    public async Task Custom_commands_run_inside_the_sandbox()
    {
        var events = await fixture.Pipeline.RunToEndAsync(new RunRequest
        {
            Language = "c",
            Files = [new SourceFile("main.c", "int main(void){return 0;}")],
            CustomCompileCommand = "echo compiling as $(id -u) > log.txt",
            CustomRunCommand = "cat log.txt; ls /root 2>&1 | head -1; echo done",
        }, CancellationToken.None).WaitAsync(Timeout);
        var result = new RunResult(events);

        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
        Assert.StartsWith("compiling as 1000\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cobol", RunRequestError.UnknownLanguage)]
    [InlineData("", RunRequestError.UnknownLanguage)]
    public async Task Unknown_languages_are_refused_before_anything_runs(string language, RunRequestError expected)
    {
        var error = await Assert.ThrowsAsync<RunValidationException>(() => fixture.RunAsync(language, "x"));
        Assert.Equal(expected, error.Error);
        Assert.Contains("supported:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Source_over_256_KiB_is_refused_as_too_large()
    {
        var huge = "# " + new string('x', 256 * 1024) + "\n";

        var error = await Assert.ThrowsAsync<RunValidationException>(() => fixture.RunAsync("python", huge));

        Assert.Equal(RunRequestError.SourceTooLarge, error.Error);
        Assert.True(error.IsTooLarge);
    }

    [Fact]
    public async Task Source_just_under_the_limit_runs()
    {
        var big = "# " + new string('x', (256 * 1024) - 100) + "\nprint('fits')\n";

        var result = await fixture.RunAsync("python", big);

        Assert.Equal("fits\n", result.Stdout);
    }

    [Fact]
    public async Task More_than_sixteen_files_are_refused()
    {
        var files = Enumerable.Range(0, 17).Select(i => new SourceFile($"f{i}.py", "pass")).ToList();

        var error = await Assert.ThrowsAsync<RunValidationException>(() => fixture.Pipeline.StartAsync(new RunRequest
        {
            Language = "python",
            Files = files,
        }, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(RunRequestError.TooManyFiles, error.Error);
    }

    [Theory]
    [InlineData("../main.py")]
    [InlineData("-rf")]
    [InlineData(".hidden.py")]
    [InlineData("main\u202Eyp.py")]
    public async Task Hostile_file_names_are_refused(string name)
    {
        var error = await Assert.ThrowsAsync<RunValidationException>(() => fixture.RunAsync("python", "print(1)", fileName: name));

        Assert.Equal(RunRequestError.InvalidFileName, error.Error);
    }

    [Fact]
    public async Task Batch_stdin_over_the_limit_is_refused()
    {
        var stdin = new string('x', (16 * 1024 * 1024) + 1);

        var error = await Assert.ThrowsAsync<RunValidationException>(() => fixture.RunAsync("python", "pass", stdin));

        Assert.Equal(RunRequestError.StdinTooLarge, error.Error);
    }

    [Fact]
    public async Task A_flood_of_unread_input_is_refused_with_a_notice_and_the_run_goes_on()
    {
        await using var session = await StartInteractiveAsync("python", "import time\nprint('sleeping', flush=True)\ntime.sleep(3)\nprint('awake')\n");
        var chunk = new string('y', 256 * 1024) + "\n";
        var refused = false;
        for (var i = 0; i < 8 && !refused; i++)
        {
            refused = !await session.WriteInputAsync(chunk, CancellationToken.None).AsTask().WaitAsync(Timeout);
        }

        var result = await ReadToEndAsync(session);

        Assert.True(refused, "input past 1 MiB unread should be refused");
        Assert.Contains(result.Notices, n => n.Contains("input refused", StringComparison.Ordinal));
        Assert.Contains("awake", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
    }

    [Fact]
    public async Task Disposing_a_session_nobody_reads_stops_the_program_and_completes()
    {
        var session = await StartInteractiveAsync("python", "while True: print('x' * 100)\n");
        await Task.Delay(300);

        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.True(outcome.Verdict is Verdict.Killed or Verdict.OutputLimit, outcome.ToString());
    }
}

[Trait("Needs", "Bubblewrap")]
public sealed class IdleTimeoutTests(ShortIdlePipelineFixture fixture) : IClassFixture<ShortIdlePipelineFixture>
{
    [Fact]
    public async Task An_idle_interactive_session_ends_with_verdict_killed()
    {
        await using var session = await fixture.Pipeline.StartAsync(new RunRequest
        {
            Language = "python",
            Files = [new SourceFile(string.Empty, "input()\n")],
            Mode = RunMode.Interactive,
        }, CancellationToken.None).WaitAsync(PipelineFixture.Timeout);

        var outcome = await session.Completion.WaitAsync(PipelineFixture.Timeout);

        Assert.Equal(Verdict.Killed, outcome.Verdict);
        Assert.Contains("idle", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_keeps_a_session_alive_past_the_idle_timeout()
    {
        var events = await fixture.Pipeline.RunToEndAsync(new RunRequest
        {
            Language = "python",
            Files = [new SourceFile(string.Empty, "import time\nfor i in range(6):\n    print(i, flush=True)\n    time.sleep(0.5)\n")],
            Mode = RunMode.Interactive,
        }, CancellationToken.None).WaitAsync(PipelineFixture.Timeout);
        var result = new RunResult(events);

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("0\n1\n2\n3\n4\n5\n", result.Stdout);
    }

    [Fact]
    public async Task Batch_runs_have_no_idle_timeout()
    {
        var result = await fixture.RunAsync("python", "import time\ntime.sleep(1.5)\nprint('done')\n");

        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
        Assert.Equal("done\n", result.Stdout);
        Assert.True(Encoding.UTF8.GetByteCount(result.Stdout) > 0);
    }
}
