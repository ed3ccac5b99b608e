using IrisIde.Execution.Sandboxing.Bubblewrap;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

public sealed class HostPathViewTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("host-path-view-").FullName;

    public HostPathViewTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "real", "bin"));
        File.WriteAllText(Path.Combine(_root, "real", "bin", "tool"), "");
        File.CreateSymbolicLink(Path.Combine(_root, "alternative"), Path.Combine(_root, "real", "bin", "tool"));
        File.CreateSymbolicLink(Path.Combine(_root, "tool"), "alternative");
        Directory.CreateSymbolicLink(Path.Combine(_root, "current"), "real");
        File.CreateSymbolicLink(Path.Combine(_root, "dangling"), "nowhere");
        File.CreateSymbolicLink(Path.Combine(_root, "loop-a"), "loop-b");
        File.CreateSymbolicLink(Path.Combine(_root, "loop-b"), "loop-a");
    }

    private string At(string relative) => Path.Combine(_root, relative);

    [Fact]
    public void A_chain_of_links_becomes_the_same_links_and_a_bind_of_what_it_names()
    {
        var view = HostPathView.Resolve([At("tool")]);

        Assert.Equal([At("real/bin/tool")], view.Binds);
        Assert.Equal(
            [new(At("alternative"), At("real/bin/tool")), new(At("tool"), "alternative")],
            view.Symlinks);
    }

    [Fact]
    public void A_link_in_the_middle_of_a_path_is_reproduced_and_the_rest_resolved_through_it()
    {
        var view = HostPathView.Resolve([At("current/bin")]);

        Assert.Equal([At("real/bin")], view.Binds);
        Assert.Equal([new(At("current"), "real")], view.Symlinks);
    }

    [Fact]
    public void Paths_inside_a_bound_folder_add_nothing()
    {
        var view = HostPathView.Resolve([At("real/bin/tool"), At("real"), At("current/bin/tool"), At("real/bin")]);

        Assert.Equal([At("real")], view.Binds);
        Assert.Equal([new(At("current"), "real")], view.Symlinks);
    }

    [Fact]
    public void Missing_paths_dangling_links_and_loops_are_skipped_without_a_trace()
    {
        var view = HostPathView.Resolve([At("missing"), At("dangling"), At("loop-a"), At("real/missing"), "relative/path", "/"]);

        Assert.Empty(view.Binds);
        Assert.Empty(view.Symlinks);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
