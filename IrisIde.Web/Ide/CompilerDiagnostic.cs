namespace IrisIde.Web.Ide;

public enum DiagnosticSeverity
{
    Error,
    Warning,
    Note,
}

/// <summary>One compiler message tied to a place in a source file; lines and columns are 1-based (column 1 when the compiler gave none).</summary>
public sealed record CompilerDiagnostic(string File, int Line, int Column, DiagnosticSeverity Severity, string Message)
{
    /// <summary>The wire name: <c>error</c>, <c>warning</c> or <c>note</c>.</summary>
    public string SeverityName => Severity switch
    {
        DiagnosticSeverity.Error => "error",
        DiagnosticSeverity.Warning => "warning",
        _ => "note",
    };
}
