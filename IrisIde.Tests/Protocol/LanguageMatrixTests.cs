using IrisIde.Execution.Languages;
using IrisIde.Tests.Web;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Protocol;

/// <summary>Its own web app, so the matrix runs beside the other protocol tests rather than after them.</summary>
public sealed class LanguageMatrixAppFixture : IrisWebAppFixture;

/// <summary>
/// The per-language acceptance matrix over <c>/ws</c>: for every catalogue language, hello world, a line
/// of input echoed back, a compile (or syntax) error and an exit code. A language that is not installed
/// fails here on purpose: the setup script installs every one, so a gap is a real defect.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class LanguageMatrixTests(LanguageMatrixAppFixture fixture) : IClassFixture<LanguageMatrixAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>A program per language that reads one line and prints <c>got: LINE</c>.</summary>
    private static readonly Dictionary<string, string> EchoLine = new(StringComparer.Ordinal)
    {
        ["c"] = "#include <stdio.h>\n#include <string.h>\nint main(void) {\n    char b[100];\n    if (!fgets(b, sizeof b, stdin)) return 1;\n    b[strcspn(b, \"\\n\")] = 0;\n    printf(\"got: %s\\n\", b);\n    return 0;\n}\n",
        ["cpp"] = "#include <iostream>\n#include <string>\nint main() {\n    std::string s;\n    std::getline(std::cin, s);\n    std::cout << \"got: \" << s << std::endl;\n}\n",
        ["python"] = "print('got: ' + input())\n",
        ["go"] = "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n)\n\nfunc main() {\n\ts, _ := bufio.NewReader(os.Stdin).ReadString('\\n')\n\tfmt.Println(\"got: \" + strings.TrimSpace(s))\n}\n",
        ["java"] = "import java.util.Scanner;\n\npublic class Main {\n    public static void main(String[] args) {\n        Scanner in = new Scanner(System.in);\n        System.out.println(\"got: \" + in.nextLine());\n    }\n}\n",
        ["javascript"] = "const rl = require('readline').createInterface({ input: process.stdin });\nrl.once('line', (l) => { console.log('got: ' + l); rl.close(); process.stdin.destroy(); });\n",
        ["typescript"] = "import * as readline from 'readline';\n\nconst rl = readline.createInterface({ input: process.stdin });\nrl.once('line', (l: string) => { console.log('got: ' + l); rl.close(); process.stdin.destroy(); });\n",
        ["rust"] = "use std::io::BufRead;\n\nfn main() {\n    let mut s = String::new();\n    std::io::stdin().lock().read_line(&mut s).unwrap();\n    println!(\"got: {}\", s.trim_end());\n}\n",
        ["ruby"] = "line = gets.chomp\nputs \"got: #{line}\"\n",
        ["lua"] = "local l = io.read('l')\nprint('got: ' .. l)\n",
        ["php"] = "<?php\n$l = trim(fgets(STDIN));\necho \"got: $l\\n\";\n",
        ["perl"] = "my $l = <STDIN>;\nchomp $l;\nprint \"got: $l\\n\";\n",
        ["bash"] = "read -r l\necho \"got: $l\"\n",
    };

    /// <summary>A program that does not compile (or parse), and text its error output must mention.</summary>
    private static readonly Dictionary<string, (string Source, string Mentions)> Broken = new(StringComparer.Ordinal)
    {
        ["c"] = ("int main(void) { return undefined_name; }\n", "undefined_name"),
        ["cpp"] = ("int main() { undefined_name(); }\n", "undefined_name"),
        ["python"] = ("print('unclosed'\n", "SyntaxError"),
        ["go"] = ("package main\n\nfunc main() { undefinedName() }\n", "undefinedName"),
        ["java"] = ("public class Main {\n    public static void main(String[] args) { undefinedName(); }\n}\n", "undefinedName"),
        ["javascript"] = ("console.log('unclosed'\n", "SyntaxError"),
        ["typescript"] = ("const n: number = 'not a number';\nconsole.log(n);\n", "TS2322"),
        ["rust"] = ("fn main() { undefined_name(); }\n", "undefined_name"),
        ["ruby"] = ("puts(1\n", "syntax error"),
        ["lua"] = ("print(\n", "main.lua:"),
        ["php"] = ("<?php\necho 'x'\n", "Parse error"),
        ["perl"] = ("print \"x\";\n}\n", "syntax error"),
        ["bash"] = ("echo (\n", "syntax error"),
    };

    /// <summary>A program that ends with exit code 3.</summary>
    private static readonly Dictionary<string, string> ExitThree = new(StringComparer.Ordinal)
    {
        ["c"] = "#include <stdlib.h>\nint main(void) { exit(3); }\n",
        ["cpp"] = "#include <cstdlib>\nint main() { std::exit(3); }\n",
        ["python"] = "import sys\nsys.exit(3)\n",
        ["go"] = "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(3) }\n",
        ["java"] = "public class Main {\n    public static void main(String[] args) { System.exit(3); }\n}\n",
        ["javascript"] = "process.exit(3);\n",
        ["typescript"] = "process.exit(3);\n",
        ["rust"] = "fn main() { std::process::exit(3); }\n",
        ["ruby"] = "exit 3\n",
        ["lua"] = "os.exit(3)\n",
        ["php"] = "<?php\nexit(3);\n",
        ["perl"] = "exit 3;\n",
        ["bash"] = "exit 3\n",
    };

    public static TheoryData<string> Languages
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var language in LanguageCatalog.LoadEmbedded().All)
            {
                data.Add(language.Id);
            }

            return data;
        }
    }

    [Fact]
    public void Every_catalogue_language_has_matrix_snippets_and_the_seed_six_are_in_the_catalogue()
    {
        var ids = LanguageCatalog.LoadEmbedded().All.Select(l => l.Id).ToList();

        Assert.Subset(ids.ToHashSet(), new HashSet<string> { "c", "cpp", "python", "go", "java", "javascript" });
        Assert.All(ids, id => Assert.True(EchoLine.ContainsKey(id) && Broken.ContainsKey(id) && ExitThree.ContainsKey(id), $"no matrix snippets for '{id}'"));
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task Hello_world_runs(string id)
    {
        var language = await RequireAvailableAsync(id);
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendCodeAsync(id, language.Hello);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.True("Hello, World!\n" == client.Text("stdout"), client.Describe());
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
        Assert.Equal(language.IsCompiled, client.OfType("compile_success").Any());
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task A_line_of_input_is_read_and_echoed_back(string id)
    {
        await RequireAvailableAsync(id);
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendCodeAsync(id, EchoLine[id]);
        await client.SendInputAsync("matrix line 42\r");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.True("got: matrix line 42\n" == client.Text("stdout"), client.Describe());
        Assert.Equal("matrix line 42\n", client.Text("echo"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task A_compile_or_syntax_error_is_reported(string id)
    {
        var language = await RequireAvailableAsync(id);
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);
        var (source, mentions) = Broken[id];

        await client.SendCodeAsync(id, source);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        if (language.IsCompiled)
        {
            var error = client.One("compile_error");
            Assert.Contains(mentions, error.GetProperty("stderr").GetString(), StringComparison.Ordinal);
            Assert.Empty(client.OfType("exit"));
        }
        else
        {
            Assert.Contains(mentions, client.Text("stderr") + client.Text("stdout"), StringComparison.Ordinal);
            var exit = client.One("exit");
            Assert.NotEqual(0, exit.GetProperty("return_code").GetInt32());
            Assert.Equal("runtime_error", exit.GetProperty("verdict").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public async Task The_programs_exit_code_is_reported(string id)
    {
        await RequireAvailableAsync(id);
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendCodeAsync(id, ExitThree[id]);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        var exit = client.One("exit");
        Assert.True(exit.GetProperty("return_code").GetInt32() == 3, client.Describe());
        Assert.Equal("runtime_error", exit.GetProperty("verdict").GetString());
    }

    /// <summary>Fails (never skips) when the language's toolchain is missing, naming what to install.</summary>
    private async Task<LanguageDefinition> RequireAvailableAsync(string id)
    {
        var availability = fixture.App.Services.GetRequiredService<LanguageAvailability>();
        Assert.True(availability.Catalog.TryResolve(id, out var language));
        var status = await availability.GetAsync(language, CancellationToken.None).WaitAsync(Timeout);
        Assert.True(status.IsAvailable, $"{id} is not available here: {status.Reason}");
        return language;
    }
}
