namespace IrisIde.Web.Runner;

/// <summary>Who may start runs. Section <c>Iris:Auth</c>.</summary>
public sealed class RunnerAccessOptions
{
    public const string SectionName = "Iris:Auth";

    /// <summary>
    /// Whether a client that is not signed in may run code. True until sign-in exists; false then closes
    /// <c>/ws</c> to everyone (401 before the upgrade), since nobody can be signed in yet.
    /// </summary>
    public bool AllowAnonymousRuns { get; set; } = true;
}
