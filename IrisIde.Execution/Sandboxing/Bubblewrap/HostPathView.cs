namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// A list of host paths reproduced read-only inside the sandbox at the same places, and nothing
/// around them: every symlink met on the way (in any component) becomes the same symlink inside, and
/// what the chain finally names is bound. <c>/usr/bin/java</c> → <c>/etc/alternatives/java</c> →
/// <c>/usr/lib/jvm/…/bin/java</c> shows as two links and a bind of the JDK's file, without
/// <c>/usr/bin</c> or <c>/etc/alternatives</c> whole. A path whose chain ends nowhere is skipped, so a
/// language that is not installed costs nothing and fails no other.
/// </summary>
internal sealed class HostPathView
{
    // The kernel's own limit on links followed in one lookup.
    private const int MaxLinkHops = 40;

    private HostPathView(IReadOnlyList<string> binds, IReadOnlyList<KeyValuePair<string, string>> symlinks)
    {
        Binds = binds;
        Symlinks = symlinks;
    }

    /// <summary>Real (link-free) host paths to bind at the same place, none inside another, parents first.</summary>
    public IReadOnlyList<string> Binds { get; }

    /// <summary>Symlinks to create: location → target, as on the host (relative targets stay relative).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Symlinks { get; }

    public static HostPathView Resolve(IEnumerable<string> paths)
    {
        var binds = new SortedSet<string>(StringComparer.Ordinal);
        var symlinks = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            Add(path, 0, binds, symlinks);
        }

        // Inside a bound folder everything is there already; binding or linking again would only
        // shadow it (or fail: the bound folder is read-only). Sorted, a parent comes before its children.
        var kept = new List<string>();
        foreach (var bind in binds)
        {
            if (!kept.Any(parent => IsInside(bind, parent)))
            {
                kept.Add(bind);
            }
        }

        var links = symlinks
            .Where(link => !kept.Any(parent => IsInside(link.Key, parent)))
            .OrderBy(link => link.Key, StringComparer.Ordinal)
            .ToList();
        return new HostPathView(kept, links);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or lies inside it.</summary>
    public static bool IsInside(string path, string folder) =>
        folder == "/" || path == folder || path.StartsWith(folder + "/", StringComparison.Ordinal);

    private static bool Add(string path, int hops, SortedSet<string> binds, Dictionary<string, string> symlinks)
    {
        if (hops > MaxLinkHops || !path.StartsWith('/'))
        {
            return false;
        }

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "";
        for (var i = 0; i < parts.Length; i++)
        {
            switch (parts[i])
            {
                case ".":
                    continue;
                case "..":
                    current = current.Length == 0 ? "" : current[..current.LastIndexOf('/')];
                    continue;
            }

            var candidate = current + "/" + parts[i];
            var info = new FileInfo(candidate);
            if (info.LinkTarget is { } target)
            {
                var rest = string.Join('/', parts[(i + 1)..]);
                var next = (target.StartsWith('/') ? target : current + "/" + target) + (rest.Length > 0 ? "/" + rest : "");
                if (!Add(next, hops + 1, binds, symlinks))
                {
                    return false;
                }

                symlinks[candidate] = target;
                return true;
            }

            if (!Path.Exists(candidate))
            {
                return false;
            }

            current = candidate;
        }

        // The root itself is never bound: the sandbox's root is its own tmpfs.
        if (current.Length == 0)
        {
            return false;
        }

        binds.Add(current);
        return true;
    }
}
