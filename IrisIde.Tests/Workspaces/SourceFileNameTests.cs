using IrisIde.Execution.Workspaces;

namespace IrisIde.Tests.Workspaces;

public sealed class SourceFileNameTests
{
    [Theory]
    [InlineData("main.c")]
    [InlineData("Main.java")]
    [InlineData("my_program-2.cpp")]
    [InlineData("a+b.py")]
    [InlineData("Makefile")]
    public void Ordinary_names_are_accepted(string name) => Assert.Null(SourceFileName.Validate(name));

    [Theory]
    [InlineData("", "empty")]
    [InlineData(null, "empty")]
    [InlineData("../etc/passwd", "separator")]
    [InlineData("a/b.c", "separator")]
    [InlineData("a\\b.c", "separator")]
    [InlineData("..", "'..'")]
    [InlineData("a..b", "'..'")]
    [InlineData(".bashrc", "start with")]
    [InlineData("-o.c", "start with")]
    [InlineData("main\n.c", "control")]
    [InlineData("main\0.c", "control")]
    [InlineData("main\u202Ec.py", "bidirectional")]
    [InlineData("main\u2066.py", "bidirectional")]
    [InlineData("mäin.c", "ASCII")]
    [InlineData("main c", "ASCII")]
    [InlineData("main;rm.c", "ASCII")]
    public void Hostile_names_are_rejected_with_the_reason(string? name, string reason)
    {
        var problem = SourceFileName.Validate(name);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_past_the_length_limit_are_rejected()
    {
        Assert.Null(SourceFileName.Validate(new string('a', SourceFileName.MaxLength)));
        Assert.Contains("longer", SourceFileName.Validate(new string('a', SourceFileName.MaxLength + 1)), StringComparison.Ordinal);
    }
}
