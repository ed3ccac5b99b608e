namespace IrisIde.Web.Runner;

/// <summary>Who may start runs. Section <c>Iris:Auth</c>.</summary>
public sealed class RunnerAccessOptions
{
    public const string SectionName = "Iris:Auth";

    /// <summary>
    /// Whether a client that is neither signed in nor holding an access token may run code (<c>/ws</c>,
    /// <c>/run</c>, the hub, the batch APIs). Off by default; when on, anonymous runs are still held to the
    /// admission layer's per-client caps, counted per address.
    /// </summary>
    public bool AllowAnonymousRuns { get; set; }
}
