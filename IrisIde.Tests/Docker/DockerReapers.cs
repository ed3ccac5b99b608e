namespace IrisIde.Tests.Docker;

/// <summary>
/// Tests that run a reaper over the whole test engine, or make runners only a reaper should remove (expired, or of a
/// web app that is gone): one at a time, so one test's reaper cannot take the runner another test made for its own
/// reaper to find. The compose test is here too: its web app reaps the engine as it starts.
/// </summary>
public static class DockerReapers
{
    public const string Collection = "Docker reapers";
}
