using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Runs;

[Trait("Needs", "Bubblewrap")]
public sealed class MultiFileProgramTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private async Task<RunResult> RunAsync(string language, string? stdin, params SourceFile[] files)
    {
        var events = await fixture.Pipeline.RunToEndAsync(new RunRequest { Language = language, Files = files, Stdin = stdin }, CancellationToken.None)
            .WaitAsync(PipelineFixture.Timeout);
        return new RunResult(events);
    }

    [Fact]
    public async Task A_c_program_split_over_two_sources_and_a_header_compiles_links_and_runs()
    {
        var result = await RunAsync("c", "6 7\n",
            new SourceFile("main.c", "#include <stdio.h>\n#include \"util.h\"\nint main(void){int a,b; if(scanf(\"%d %d\",&a,&b)!=2) return 3; printf(\"%d\\n\", multiply(a,b)); return 0;}\n"),
            new SourceFile("util.h", "#ifndef UTIL_H\n#define UTIL_H\nint multiply(int a, int b);\n#endif\n"),
            new SourceFile("util.c", "#include \"util.h\"\nint multiply(int a, int b){ return a * b; }\n"));

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("42\n", result.Stdout);
    }

    [Fact]
    public async Task A_cpp_program_split_over_two_sources_and_a_header_compiles_links_and_runs()
    {
        var result = await RunAsync("cpp", "Ada\n",
            new SourceFile("main.cpp", "#include <iostream>\n#include <string>\n#include \"greeter.hpp\"\nint main(){ std::string n; std::getline(std::cin, n); std::cout << Greeter(\"hello\").greet(n) << std::endl; }\n"),
            new SourceFile("greeter.hpp", "#pragma once\n#include <string>\nclass Greeter { public: explicit Greeter(std::string word); std::string greet(const std::string& name) const; private: std::string word_; };\n"),
            new SourceFile("greeter.cpp", "#include \"greeter.hpp\"\nGreeter::Greeter(std::string word) : word_(std::move(word)) {}\nstd::string Greeter::greet(const std::string& name) const { return word_ + \", \" + name; }\n"));

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("hello, Ada\n", result.Stdout);
    }

    [Fact]
    public async Task A_go_program_split_over_two_files_of_package_main_builds()
    {
        var result = await RunAsync("go", null,
            new SourceFile("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(square(9)) }\n"),
            new SourceFile("square.go", "package main\n\nfunc square(n int) int { return n * n }\n"));

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("81\n", result.Stdout);
    }

    [Fact]
    public async Task A_java_program_split_over_two_classes_compiles_both_and_runs()
    {
        var result = await RunAsync("java", null,
            new SourceFile("Main.java", "public class Main { public static void main(String[] a) { System.out.println(Shapes.area(3, 4)); } }\n"),
            new SourceFile("Shapes.java", "public class Shapes { public static int area(int w, int h) { return w * h; } }\n"));

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("12\n", result.Stdout);
    }

    [Fact]
    public async Task A_missing_symbol_is_a_link_error_reported_as_a_compile_error()
    {
        var result = await RunAsync("c", null,
            new SourceFile("main.c", "#include \"util.h\"\nint main(void){ return helper(); }\n"),
            new SourceFile("util.h", "int helper(void);\n"),
            new SourceFile("util.c", "int not_the_helper(void){ return 1; }\n"));

        Assert.Equal(Verdict.CompileError, result.Outcome.Verdict);
        Assert.Equal(RunStage.Compile, result.Outcome.Stage);
        Assert.Contains("undefined reference to `helper'", result.Compile!.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Events, e => e is ProgramStarted);
    }
}
