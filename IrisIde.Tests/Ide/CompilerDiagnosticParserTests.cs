using IrisIde.Web.Ide;
using static IrisIde.Web.Ide.DiagnosticSeverity;

namespace IrisIde.Tests.Ide;

public sealed class CompilerDiagnosticParserTests
{
    [Fact]
    public void Gcc_errors_notes_and_warnings_keep_file_line_column_and_order()
    {
        var diagnostics = CompilerDiagnosticParser.Parse(CapturedCompilerOutput.Gcc, ["main.c"]);

        Assert.Equal(
        [
            new CompilerDiagnostic("main.c", 4, 20, Error, "‘missing’ undeclared (first use in this function)"),
            new CompilerDiagnostic("main.c", 4, 20, Note, "each undeclared identifier is reported only once for each function it appears in"),
            new CompilerDiagnostic("main.c", 5, 13, Error, "expected ‘;’ before ‘}’ token"),
            new CompilerDiagnostic("main.c", 3, 9, Warning, "unused variable ‘unused’ [-Wunused-variable]"),
        ], diagnostics);
    }

    [Fact]
    public void Gcc_colour_codes_are_stripped()
    {
        Assert.Equal(CompilerDiagnosticParser.Parse(CapturedCompilerOutput.Gcc, ["main.c"]).Take(2), CompilerDiagnosticParser.Parse(CapturedCompilerOutput.GccColour, ["main.c"]).Take(2));
        Assert.DoesNotContain(CompilerDiagnosticParser.Parse(CapturedCompilerOutput.GccColour), d => d.Message.Contains('\u001b', StringComparison.Ordinal));
    }

    [Fact]
    public void Gpp_errors_are_found_on_their_lines()
    {
        var diagnostics = CompilerDiagnosticParser.Parse(CapturedCompilerOutput.Gpp, ["main.cpp"]);

        Assert.Equal([(3, 21), (4, 18)], diagnostics.Select(d => (d.Line, d.Column)));
        Assert.All(diagnostics, d => Assert.Equal(Error, d.Severity));
        Assert.Contains("undefined_thing", diagnostics[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gcc_without_columns_takes_the_column_from_the_caret_line()
    {
        const string Output = "main.c: In function ‘main’:\nmain.c:4: error: ‘missing’ undeclared (first use in this function)\n    4 |     printf(\"%d\\n\", missing);\n      |                    ^~~~~~~\n";

        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse(Output, ["main.c"]));

        Assert.Equal(new CompilerDiagnostic("main.c", 4, 20, Error, "‘missing’ undeclared (first use in this function)"), diagnostic);
    }

    [Fact]
    public void Javac_column_comes_from_the_caret_and_symbol_details_join_the_message()
    {
        var diagnostics = CompilerDiagnosticParser.Parse(CapturedCompilerOutput.Javac, ["Main.java"]);

        Assert.Equal(
        [
            new CompilerDiagnostic("Main.java", 3, 17, Error, "incompatible types: String cannot be converted to int"),
            new CompilerDiagnostic("Main.java", 4, 28, Error, "cannot find symbol\nsymbol:   variable y\nlocation: class Main"),
        ], diagnostics);
    }

    [Fact]
    public void Javac_caret_under_tabs_counts_each_tab_as_one_column()
    {
        const string Output = "Tab.java:3: error: cannot find symbol\n\t\tundefinedCall();\n\t\t^\n  symbol:   method undefinedCall()\n  location: class Tab\n1 error\n";

        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse(Output, ["Tab.java"]));

        Assert.Equal(3, diagnostic.Line);
        Assert.Equal(3, diagnostic.Column);
    }

    [Fact]
    public void Go_errors_without_a_severity_word_are_errors_with_the_dot_slash_removed()
    {
        var diagnostics = CompilerDiagnosticParser.Parse(CapturedCompilerOutput.Go, ["main.go"]);

        Assert.Equal(
        [
            new CompilerDiagnostic("main.go", 6, 2, Error, "x declared but not used"),
            new CompilerDiagnostic("main.go", 7, 14, Error, "undefined: y"),
        ], diagnostics);
    }

    [Fact]
    public void Go_lines_without_dot_slash_parse_too()
    {
        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse("main.go:3:5: undefined: fmt.Printx\n", ["main.go"]));

        Assert.Equal(new CompilerDiagnostic("main.go", 3, 5, Error, "undefined: fmt.Printx"), diagnostic);
    }

    [Fact]
    public void Rustc_takes_the_location_from_the_arrow_line_after_the_header()
    {
        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse(CapturedCompilerOutput.RustcError, ["main.rs"]));

        Assert.Equal(new CompilerDiagnostic("main.rs", 3, 20, Error, "cannot find value `missing` in this scope (E0425)"), diagnostic);
    }

    [Fact]
    public void Rustc_warnings_are_warnings_and_summary_lines_are_not_diagnostics()
    {
        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse(CapturedCompilerOutput.RustcWarning));

        Assert.Equal(new CompilerDiagnostic("w2.rs", 2, 9, Warning, "unused variable: `unused`"), diagnostic);
    }

    [Fact]
    public void Tsc_parenthesised_positions_parse_with_the_error_code()
    {
        var diagnostics = CompilerDiagnosticParser.Parse(CapturedCompilerOutput.Tsc, ["main.ts"]);

        Assert.Equal(
        [
            new CompilerDiagnostic("main.ts", 1, 5, Error, "Type 'string' is not assignable to type 'number'. (TS2322)"),
            new CompilerDiagnostic("main.ts", 2, 13, Error, "Cannot find name 'missingName'. (TS2304)"),
        ], diagnostics);
    }

    [Fact]
    public void Tsc_pretty_format_parses_too()
    {
        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse("main.ts:1:5 - error TS2322: Type 'string' is not assignable to type 'number'.\n\n1 let n: number = \"five\";\n      ~\n", ["main.ts"]));

        Assert.Equal(new CompilerDiagnostic("main.ts", 1, 5, Error, "Type 'string' is not assignable to type 'number'. (TS2322)"), diagnostic);
    }

    [Fact]
    public void Diagnostics_in_files_that_are_not_the_runs_own_are_dropped()
    {
        const string Output = "/tmp/node-globals.d.ts(1,1): error TS1234: Something.\nmain.ts(2,3): error TS2304: Cannot find name 'x'.\n/usr/include/stdio.h:10:2: warning: header noise\n";

        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse(Output, ["main.ts"]));

        Assert.Equal("main.ts", diagnostic.File);
    }

    [Fact]
    public void Noise_and_empty_output_give_no_diagnostics()
    {
        Assert.Empty(CompilerDiagnosticParser.Parse(null));
        Assert.Empty(CompilerDiagnosticParser.Parse(string.Empty));
        Assert.Empty(CompilerDiagnosticParser.Parse("# command-line-arguments\n/usr/bin/ld: main.o: in function `main':\nmain.c:(.text+0x9): undefined reference to `foo'\ncollect2: error: ld returned 1 exit status\n2 errors\nhttp://example.com:8080: nope\n"));
    }

    [Fact]
    public void Windows_line_endings_and_a_missing_final_newline_are_fine()
    {
        var diagnostic = Assert.Single(CompilerDiagnosticParser.Parse("main.c:2:1: error: boom\r\n    2 | x\r\n      | ^", ["main.c"]));

        Assert.Equal(new CompilerDiagnostic("main.c", 2, 1, Error, "boom"), diagnostic);
    }

    [Fact]
    public void A_flood_of_errors_is_capped()
    {
        var output = string.Concat(Enumerable.Range(1, 1000).Select(i => $"main.c:{i}:1: error: e{i}\n"));

        Assert.Equal(CompilerDiagnosticParser.MaxDiagnostics, CompilerDiagnosticParser.Parse(output, ["main.c"]).Count);
    }

    [Fact]
    public void Severity_wire_names_are_error_warning_and_note()
    {
        Assert.Equal(["error", "warning", "note"], new[] { Error, Warning, Note }.Select(s => new CompilerDiagnostic("a.c", 1, 1, s, "m").SeverityName));
    }
}
