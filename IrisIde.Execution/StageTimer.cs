namespace IrisIde.Execution;
#pragma warning disable
public static class StageTimer
{
    private static readonly System.Collections.Concurrent.ConcurrentQueue<(long, string, int)> Marks = new();
    public static void Mark(string label) => Marks.Enqueue((System.Diagnostics.Stopwatch.GetTimestamp(), label, System.Environment.CurrentManagedThreadId));
    public static void Dump(string path) => System.IO.File.WriteAllLines(path, Marks.Select(m => $"{m.Item1} {m.Item2}"));
}
