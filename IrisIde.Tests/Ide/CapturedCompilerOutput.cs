namespace IrisIde.Tests.Ide;

/// <summary>
/// Output captured from the real compilers on this machine (Debian 12) on broken programs, byte for byte,
/// with the command lines the catalogue uses.
/// </summary>
internal static class CapturedCompilerOutput
{
    /// <summary>gcc 12.2.0 (Debian 12), <c>gcc -std=gnu17 -O2 -Wall -pipe -o main main.c -lm</c>.</summary>
    public const string Gcc =
        "main.c: In function ‘main’:\n"
        + "main.c:4:20: error: ‘missing’ undeclared (first use in this function)\n"
        + "    4 |     printf(\"%d\\n\", missing);\n"
        + "      |                    ^~~~~~~\n"
        + "main.c:4:20: note: each undeclared identifier is reported only once for each function it appears in\n"
        + "main.c:5:13: error: expected ‘;’ before ‘}’ token\n"
        + "    5 |     return 0\n"
        + "      |             ^\n"
        + "      |             ;\n"
        + "    6 | }\n"
        + "      | ~            \n"
        + "main.c:3:9: warning: unused variable ‘unused’ [-Wunused-variable]\n"
        + "    3 |     int unused;\n"
        + "      |         ^~~~~~\n";

    /// <summary>gcc 12.2.0 with <c>-fdiagnostics-color=always</c>.</summary>
    public const string GccColour =
        "\u001b[01m\u001b[Kmain.c:\u001b[m\u001b[K In function ‘\u001b[01m\u001b[Kmain\u001b[m\u001b[K’:\n"
        + "\u001b[01m\u001b[Kmain.c:4:20:\u001b[m\u001b[K \u001b[01;31m\u001b[Kerror: \u001b[m\u001b[K‘\u001b[01m\u001b[Kmissing\u001b[m\u001b[K’ undeclared (first use in this function)\n"
        + "    4 |     printf(\"%d\\n\", \u001b[01;31m\u001b[Kmissing\u001b[m\u001b[K);\n"
        + "      |                    \u001b[01;31m\u001b[K^~~~~~~\u001b[m\u001b[K\n"
        + "\u001b[01m\u001b[Kmain.c:4:20:\u001b[m\u001b[K \u001b[01;36m\u001b[Knote: \u001b[m\u001b[Keach undeclared identifier is reported only once for each function it appears in\n"
        + "\u001b[01m\u001b[Kmain.c:5:13:\u001b[m\u001b[K \u001b[01;31m\u001b[Kerror: \u001b[m\u001b[Kexpected ‘\u001b[01m\u001b[K;\u001b[m\u001b[K’ before ‘\u001b[01m\u001b[K}\u001b[m\u001b[K’ token\n"
        + "    5 |     return 0\n"
        + "      |             \u001b[01;31m\u001b[K^\u001b[m\u001b[K\n"
        + "      |             \u001b[32m\u001b[K;\u001b[m\u001b[K\n"
        + "    6 | \u001b[32m\u001b[K}\u001b[m\u001b[K\n"
        + "      | \u001b[32m\u001b[K~\u001b[m\u001b[K            \n"
        + "\u001b[01m\u001b[Kmain.c:3:9:\u001b[m\u001b[K \u001b[01;35m\u001b[Kwarning: \u001b[m\u001b[Kunused variable ‘\u001b[01m\u001b[Kunused\u001b[m\u001b[K’ [\u001b[01;35m\u001b[K-Wunused-variable\u001b[m\u001b[K]\n"
        + "    3 |     int \u001b[01;35m\u001b[Kunused\u001b[m\u001b[K;\n"
        + "      |         \u001b[01;35m\u001b[K^~~~~~\u001b[m\u001b[K\n";

    /// <summary>g++ 12.2.0, <c>g++ -std=gnu++17 -O2 -Wall -pipe -o main main.cpp</c>.</summary>
    public const string Gpp =
        "main.cpp: In function ‘int main()’:\n"
        + "main.cpp:3:21: error: conversion from ‘int’ to non-scalar type ‘std::string’ {aka ‘std::__cxx11::basic_string<char>’} requested\n"
        + "    3 |     std::string s = 5;\n"
        + "      |                     ^\n"
        + "main.cpp:4:18: error: ‘undefined_thing’ was not declared in this scope\n"
        + "    4 |     std::cout << undefined_thing << std::endl;\n"
        + "      |                  ^~~~~~~~~~~~~~~\n";

    /// <summary>javac 17.0.21, <c>javac -encoding UTF-8 Main.java</c>.</summary>
    public const string Javac =
        "Main.java:3: error: incompatible types: String cannot be converted to int\n"
        + "        int x = \"text\";\n"
        + "                ^\n"
        + "Main.java:4: error: cannot find symbol\n"
        + "        System.out.println(y);\n"
        + "                           ^\n"
        + "  symbol:   variable y\n"
        + "  location: class Main\n"
        + "2 errors\n";

    /// <summary>go 1.19.8, <c>go build -o main main.go</c> (GO111MODULE=off).</summary>
    public const string Go =
        "# command-line-arguments\n"
        + "./main.go:6:2: x declared but not used\n"
        + "./main.go:7:14: undefined: y\n";

    /// <summary>rustc 1.63.0, <c>rustc --edition 2021 -O -o main main.rs</c>.</summary>
    public const string RustcError =
        "error[E0425]: cannot find value `missing` in this scope\n"
        + " --> main.rs:3:20\n"
        + "  |\n"
        + "3 |     println!(\"{}\", missing);\n"
        + "  |                    ^^^^^^^ not found in this scope\n"
        + "\n"
        + "error: aborting due to previous error\n"
        + "\n"
        + "For more information about this error, try `rustc --explain E0425`.\n";

    /// <summary>rustc 1.63.0, a warning only (file w2.rs).</summary>
    public const string RustcWarning =
        "warning: unused variable: `unused`\n"
        + " --> w2.rs:2:9\n"
        + "  |\n"
        + "2 |     let unused = 3;\n"
        + "  |         ^^^^^^ help: if this is intentional, prefix it with an underscore: `_unused`\n"
        + "  |\n"
        + "  = note: `#[warn(unused_variables)]` on by default\n"
        + "\n"
        + "warning: 1 warning emitted\n"
        + "\n";

    /// <summary>tsc 4.8.4, <c>tsc --target es2020 --module commonjs --strict --pretty false main.ts</c>.</summary>
    public const string Tsc =
        "main.ts(1,5): error TS2322: Type 'string' is not assignable to type 'number'.\n"
        + "main.ts(2,13): error TS2304: Cannot find name 'missingName'.\n";
}
